"""Health monitor schemas and the rules between their fields."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from lbaas.core.enums import HttpMethod, MonitorType
from lbaas.schemas.common import (
    UUID,
    IdRef,
    Link,
    Name,
    OperatingStatus,
    ProjectOwned,
    ProvisioningStatus,
    RequestModel,
    ResponseModel,
    Tags,
)

HM_TYPES = ("HTTP", "HTTPS", "PING", "SCTP", "TCP", "TLS-HELLO", "UDP-CONNECT")
HTTP_TYPES = ("HTTP", "HTTPS")
HTTP_METHODS = ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")

# An absolute path with an optional query; RFC 3986 path/query characters only (no space, quote,
# '#' or control character can reach haproxy.cfg).
URL_PATH = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*(\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?$")
EXPECTED_CODES = re.compile(r"^(\d{3}(,\d{3})*|\d{3}-\d{3})$")
DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
                         r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")

MAX_SECONDS = 2147483647


class _HMFields(RequestModel):
    name: Name | None = None
    admin_state_up: bool | None = None
    delay: int | None = Field(default=None, ge=0, le=MAX_SECONDS)
    timeout: int | None = Field(default=None, ge=0, le=MAX_SECONDS)
    max_retries: int | None = Field(default=None, ge=1, le=10)
    max_retries_down: int | None = Field(default=None, ge=1, le=10)
    http_method: HttpMethod | None = None
    url_path: str | None = Field(default=None, max_length=2048)
    expected_codes: str | None = Field(default=None, max_length=64)
    http_version: float | None = None
    domain_name: str | None = Field(default=None, max_length=255)
    tags: Tags | None = None

    @model_validator(mode="after")
    def _check_formats(self) -> _HMFields:
        if self.url_path is not None and not URL_PATH.match(self.url_path):
            raise ValueError("url_path must be an absolute path starting with '/' made of URL "
                             "characters (no spaces, quotes, '#' or control characters)")
        if self.expected_codes is not None:
            if not EXPECTED_CODES.match(self.expected_codes):
                raise ValueError("expected_codes must be a code (200), a list (200,202) or a "
                                 "range (200-204)")
            codes = [int(c) for c in re.split("[,-]", self.expected_codes)]
            if any(c < 100 or c > 599 for c in codes):
                raise ValueError("expected_codes must be HTTP status codes between 100 and 599")
        if self.http_version is not None and self.http_version not in (1.0, 1.1):
            raise ValueError("http_version must be 1.0 or 1.1")
        if self.domain_name is not None and not DOMAIN_NAME.match(self.domain_name):
            raise ValueError("domain_name must be a valid DNS name")
        return self


class HealthMonitorGraph(_HMFields, ProjectOwned):
    """A health monitor inside a pool of a single-call create (no pool_id)."""

    type: MonitorType
    delay: int = Field(ge=0, le=MAX_SECONDS)
    timeout: int = Field(ge=0, le=MAX_SECONDS)
    max_retries: int = Field(ge=1, le=10)

    @model_validator(mode="after")
    def _check_type_rules(self) -> HealthMonitorGraph:
        check_type_rules(self.type, self.model_dump(exclude_unset=True))
        return self


class HealthMonitorCreate(HealthMonitorGraph):
    pool_id: UUID


class HealthMonitorUpdate(_HMFields):
    pass


def check_type_rules(hm_type: str, values: dict[str, object]) -> None:
    """Raise ValueError when fields do not fit the monitor type (used on create and update)."""
    if hm_type not in HTTP_TYPES:
        extra = [f for f in ("http_method", "url_path", "expected_codes", "http_version",
                             "domain_name") if values.get(f) is not None]
        if extra:
            raise ValueError(f"{', '.join(extra)} may only be set on HTTP and HTTPS monitors, "
                             f"not on {hm_type}")
    if values.get("domain_name") is not None and values.get("http_version") not in (1.1, None):
        raise ValueError("domain_name requires http_version 1.1")
    if values.get("domain_name") is not None and values.get("http_version") is None:
        raise ValueError("domain_name requires http_version 1.1")


class HealthMonitorPublic(ResponseModel):
    id: str
    name: str
    project_id: str
    tenant_id: str
    type: MonitorType
    delay: int
    timeout: int
    max_retries: int
    max_retries_down: int
    http_method: str | None
    url_path: str | None
    expected_codes: str | None
    http_version: float | None
    domain_name: str | None
    admin_state_up: bool
    pools: list[IdRef]
    provisioning_status: ProvisioningStatus
    operating_status: OperatingStatus
    created_at: str
    updated_at: str | None
    tags: list[str]


class HealthMonitorCreateEnvelope(RequestModel):
    healthmonitor: HealthMonitorCreate


class HealthMonitorUpdateEnvelope(RequestModel):
    healthmonitor: HealthMonitorUpdate


class HealthMonitorEnvelope(ResponseModel):
    healthmonitor: HealthMonitorPublic


class HealthMonitorList(ResponseModel):
    healthmonitors: list[HealthMonitorPublic]
    healthmonitors_links: list[Link]
