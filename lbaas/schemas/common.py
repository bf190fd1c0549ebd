"""Field types and base classes shared by every resource schema."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from lbaas.core.status import Operating, Provisioning

ProvisioningStatus = Provisioning
OperatingStatus = Operating

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                   r"[0-9a-fA-F]{12}$")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters such as newlines")
    return value


def _uuid(value: str) -> str:
    if not _UUID.match(value):
        raise ValueError("must be a UUID")
    return value.lower()


def _ip(value: str) -> str:
    """Normalised address; IPv6 zone ids (``fe80::1%eth0``) are refused: Python would keep any
    text after the ``%``, and no address here is link-scoped."""
    if "%" in value:
        raise ValueError("must be an IPv4 or IPv6 address without a zone id")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None


def _cidr(value: str) -> str:
    if "%" in value:
        raise ValueError("must be a CIDR such as 10.0.0.0/24 or fd00::/64, without a zone id")
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError("must be a CIDR such as 10.0.0.0/24") from None


Name = Annotated[str, StringConstraints(max_length=255)]
Description = Annotated[str, StringConstraints(max_length=255)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=255),
                AfterValidator(_no_control)]
Tags = Annotated[list[Tag], Field(max_length=100)]
UUID = Annotated[str, AfterValidator(_uuid)]
IPAddress = Annotated[str, AfterValidator(_ip)]
CIDR = Annotated[str, AfterValidator(_cidr)]
Port = Annotated[int, Field(ge=1, le=65535)]
SafeString = Annotated[str, AfterValidator(_no_control)]
ProjectId = Annotated[str, StringConstraints(min_length=1, max_length=255),
                      AfterValidator(_no_control)]


class RequestModel(BaseModel):
    """Request bodies: unknown attributes are an error (400), as in Octavia."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """Response documents (used for the OpenAPI schema)."""

    model_config = ConfigDict(extra="forbid")


class IdRef(ResponseModel):
    id: str


class Link(ResponseModel):
    href: str
    rel: Literal["next", "previous"]


class ProjectOwned(RequestModel):
    """Admins may create objects on behalf of another project."""

    project_id: ProjectId | None = None
    tenant_id: ProjectId | None = None


class StatsBody(ResponseModel):
    bytes_in: int
    bytes_out: int
    active_connections: int
    total_connections: int
    request_errors: int


class StatsEnvelope(ResponseModel):
    stats: StatsBody
