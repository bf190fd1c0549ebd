"""Pool schemas, session persistence rules, and the single-call-create pool."""

from __future__ import annotations

import re

from pydantic import Field, StrictInt, field_validator, model_validator

from lbaas.core.enums import Algorithm, ALPNProtocol, PersistenceType, PoolProtocol, TLSVersion
from lbaas.schemas.common import (
    UUID,
    Description,
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
from lbaas.schemas.healthmonitor import HealthMonitorGraph
from lbaas.schemas.member import MemberCreate

DRAIN_TIMEOUT = "lbaas:drain_timeout"
"""lbaas's own pool attribute (an extension namespace Octavia's clients ignore): seconds a member
that is removed or set to weight 0 keeps its connections before they are cut (it gets no new
ones at once); 0, the default, lets them end on their own."""
SLOW_START = "lbaas:slow_start"
"""lbaas's own pool attribute: seconds over which a member that is added, enabled or comes back
up ramps from no traffic to its full weight (haproxy ``slowstart``); 0, the default, is off."""
MAX_DRAIN_OR_RAMP_S = 3600

# RFC 6265 cookie-name: a token (no separators, spaces or control characters).
COOKIE_NAME = re.compile(r"^[!#$%&*+\-.^_`|~0-9A-Za-z]{1,255}$")
NETMASK = re.compile(r"^(\d{1,3}\.){3}\d{1,3}$")


class SessionPersistence(RequestModel):
    type: PersistenceType
    cookie_name: str | None = None
    persistence_timeout: int | None = Field(default=None, ge=0, le=2147483647)
    persistence_granularity: str | None = None

    @model_validator(mode="after")
    def _check(self) -> SessionPersistence:
        if self.type == "APP_COOKIE":
            if not self.cookie_name:
                raise ValueError("cookie_name is required for APP_COOKIE session persistence")
            if not COOKIE_NAME.match(self.cookie_name):
                raise ValueError("cookie_name must be a valid cookie name (letters, digits and "
                                 "!#$%&*+-.^_`|~ only)")
        elif self.cookie_name is not None:
            raise ValueError(f"cookie_name is only allowed with APP_COOKIE, not {self.type}")
        if self.type != "SOURCE_IP" and (self.persistence_timeout is not None
                                         or self.persistence_granularity is not None):
            raise ValueError("persistence_timeout and persistence_granularity are only allowed "
                             "with SOURCE_IP")
        if self.persistence_granularity is not None and not NETMASK.match(
                self.persistence_granularity):
            raise ValueError("persistence_granularity must be a netmask such as 255.255.255.0")
        return self


class _PoolFields(RequestModel):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool | None = None
    lb_algorithm: Algorithm | None = None
    session_persistence: SessionPersistence | None = None
    tls_enabled: bool | None = None
    tls_container_ref: str | None = Field(default=None, max_length=255)
    ca_tls_container_ref: str | None = Field(default=None, max_length=255)
    crl_container_ref: str | None = Field(default=None, max_length=255)
    tls_ciphers: str | None = Field(default=None, max_length=2048)
    tls_versions: list[TLSVersion] | None = None
    alpn_protocols: list[ALPNProtocol] | None = None
    tags: Tags | None = None
    drain_timeout: StrictInt | None = Field(default=None, ge=0, le=MAX_DRAIN_OR_RAMP_S,
                                            alias=DRAIN_TIMEOUT)
    slow_start: StrictInt | None = Field(default=None, ge=0, le=MAX_DRAIN_OR_RAMP_S,
                                         alias=SLOW_START)

    @field_validator("drain_timeout", "slow_start")
    @classmethod
    def _null_is_off(cls, value: int | None) -> int:
        return 0 if value is None else value


class PoolGraph(_PoolFields, ProjectOwned):
    """A pool inside a single-call create: it may carry members and a health monitor."""

    protocol: PoolProtocol
    lb_algorithm: Algorithm
    members: list[MemberCreate] = Field(default_factory=list)
    healthmonitor: HealthMonitorGraph | None = None


class PoolCreate(_PoolFields, ProjectOwned):
    protocol: PoolProtocol
    lb_algorithm: Algorithm
    loadbalancer_id: UUID | None = None
    listener_id: UUID | None = None

    @model_validator(mode="after")
    def _check_parent(self) -> PoolCreate:
        if self.loadbalancer_id is None and self.listener_id is None:
            raise ValueError("either loadbalancer_id or listener_id is required")
        return self


class PoolUpdate(_PoolFields):
    pass


class PoolPublic(ResponseModel):
    id: str
    name: str
    description: str
    provisioning_status: ProvisioningStatus
    operating_status: OperatingStatus
    admin_state_up: bool
    project_id: str
    tenant_id: str
    protocol: str
    lb_algorithm: str
    session_persistence: dict[str, object] | None
    loadbalancers: list[IdRef]
    listeners: list[IdRef]
    members: list[IdRef]
    healthmonitor_id: str | None
    created_at: str
    updated_at: str | None
    tags: list[str]
    tls_enabled: bool
    tls_container_ref: str | None
    ca_tls_container_ref: str | None
    crl_container_ref: str | None
    tls_ciphers: str | None
    tls_versions: list[str]
    alpn_protocols: list[str]
    drain_timeout: int = Field(alias=DRAIN_TIMEOUT)
    slow_start: int = Field(alias=SLOW_START)


class PoolCreateEnvelope(RequestModel):
    pool: PoolCreate


class PoolUpdateEnvelope(RequestModel):
    pool: PoolUpdate


class PoolEnvelope(ResponseModel):
    pool: PoolPublic


class PoolList(ResponseModel):
    pools: list[PoolPublic]
    pools_links: list[Link]
