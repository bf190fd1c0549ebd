"""Schemas of quotas, providers, flavors and flavor profiles."""

from __future__ import annotations

import json

from pydantic import Field, field_validator

from lbaas.schemas.common import UUID, Description, Link, Name, RequestModel, ResponseModel

QuotaValue = Field(default=None, ge=-1, le=2147483647)


class QuotaUpdate(RequestModel):
    load_balancer: int | None = QuotaValue
    loadbalancer: int | None = QuotaValue
    listener: int | None = QuotaValue
    pool: int | None = QuotaValue
    member: int | None = QuotaValue
    health_monitor: int | None = QuotaValue
    healthmonitor: int | None = QuotaValue
    l7policy: int | None = QuotaValue
    l7rule: int | None = QuotaValue


class QuotaUpdateEnvelope(RequestModel):
    quota: QuotaUpdate


class QuotaPublic(ResponseModel):
    project_id: str | None = None
    load_balancer: int | None
    loadbalancer: int | None
    listener: int | None
    pool: int | None
    member: int | None
    health_monitor: int | None
    healthmonitor: int | None
    l7policy: int | None
    l7rule: int | None


class QuotaEnvelope(ResponseModel):
    quota: QuotaPublic


class QuotaList(ResponseModel):
    quotas: list[QuotaPublic]
    quotas_links: list[Link]


class ProviderPublic(ResponseModel):
    name: str
    description: str


class ProviderList(ResponseModel):
    providers: list[ProviderPublic]


def _check_flavor_data(value: str) -> str:
    try:
        data = json.loads(value)
    except ValueError:
        raise ValueError("flavor_data must be a JSON object") from None
    if not isinstance(data, dict):
        raise ValueError("flavor_data must be a JSON object")
    unknown = set(data) - {"loadbalancer_topology"}
    if unknown:
        raise ValueError(f"unsupported flavor_data keys: {', '.join(sorted(unknown))}; "
                         "supported: loadbalancer_topology")
    topology = data.get("loadbalancer_topology", "SINGLE")
    if topology not in ("SINGLE", "ACTIVE_STANDBY"):
        raise ValueError("loadbalancer_topology must be SINGLE or ACTIVE_STANDBY")
    return value


class FlavorProfileCreate(RequestModel):
    name: Name
    provider_name: str = Field(max_length=64)
    flavor_data: str = Field(max_length=4096)

    _flavor_data = field_validator("flavor_data")(_check_flavor_data)


class FlavorProfileUpdate(RequestModel):
    name: Name | None = None
    provider_name: str | None = Field(default=None, max_length=64)
    flavor_data: str | None = Field(default=None, max_length=4096)

    @field_validator("flavor_data")
    @classmethod
    def _data(cls, value: str | None) -> str | None:
        return None if value is None else _check_flavor_data(value)


class FlavorProfileCreateEnvelope(RequestModel):
    flavorprofile: FlavorProfileCreate


class FlavorProfileUpdateEnvelope(RequestModel):
    flavorprofile: FlavorProfileUpdate


class FlavorProfilePublic(ResponseModel):
    id: str
    name: str
    provider_name: str
    flavor_data: str


class FlavorProfileEnvelope(ResponseModel):
    flavorprofile: FlavorProfilePublic


class FlavorProfileList(ResponseModel):
    flavorprofiles: list[FlavorProfilePublic]
    flavorprofiles_links: list[Link]


class FlavorCreate(RequestModel):
    name: Name
    description: Description = ""
    enabled: bool = True
    flavor_profile_id: UUID


class FlavorUpdate(RequestModel):
    name: Name | None = None
    description: Description | None = None
    enabled: bool | None = None


class FlavorCreateEnvelope(RequestModel):
    flavor: FlavorCreate


class FlavorUpdateEnvelope(RequestModel):
    flavor: FlavorUpdate


class FlavorPublic(ResponseModel):
    id: str
    name: str
    description: str
    enabled: bool
    flavor_profile_id: str


class FlavorEnvelope(ResponseModel):
    flavor: FlavorPublic


class FlavorList(ResponseModel):
    flavors: list[FlavorPublic]
    flavors_links: list[Link]
