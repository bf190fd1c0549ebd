"""Listener schemas, header and CIDR rules, and the single-call-create listener."""

from __future__ import annotations

from pydantic import Field, field_validator

from lbaas.core.enums import ALPNProtocol, ClientAuthentication, ListenerProtocol, TLSVersion
from lbaas.schemas.common import (
    CIDR,
    UUID,
    Description,
    IdRef,
    Link,
    Name,
    OperatingStatus,
    Port,
    ProjectOwned,
    ProvisioningStatus,
    RequestModel,
    ResponseModel,
    Tags,
)
from lbaas.schemas.l7 import L7PolicyGraph
from lbaas.schemas.pool import PoolGraph

INSERT_HEADERS = ("X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto",
                  "X-SSL-Client-Verify", "X-SSL-Client-Has-Cert", "X-SSL-Client-DN",
                  "X-SSL-Client-CN", "X-SSL-Issuer", "X-SSL-Client-SHA1",
                  "X-SSL-Client-Not-Before", "X-SSL-Client-Not-After")
Timeout = Field(default=None, ge=0, le=2073600000)
ACCESS_LOG = "lbaas:access_log"
"""lbaas's own listener attribute (an extension namespace Octavia's clients ignore): false stops
the access logs of the listener's requests (default true)."""

# An L7 policy of a single-call create may carry its redirect pool inline.
L7PolicyGraph.model_rebuild(_types_namespace={"PoolGraph": PoolGraph})


class PoolNameRef(RequestModel):
    """A listener's default pool given by the name of a pool in the same single-call create."""

    name: str = Field(min_length=1, max_length=255)


class _ListenerFields(RequestModel):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool | None = None
    connection_limit: int | None = Field(default=None, ge=-1, le=2147483647)
    default_pool_id: UUID | None = None
    default_tls_container_ref: str | None = Field(default=None, max_length=255)
    sni_container_refs: list[str] | None = None
    insert_headers: dict[str, str] | None = None
    timeout_client_data: int | None = Timeout
    timeout_member_connect: int | None = Timeout
    timeout_member_data: int | None = Timeout
    timeout_tcp_inspect: int | None = Timeout
    client_ca_tls_container_ref: str | None = Field(default=None, max_length=255)
    client_authentication: ClientAuthentication | None = None
    client_crl_container_ref: str | None = Field(default=None, max_length=255)
    allowed_cidrs: list[CIDR] | None = None
    tls_ciphers: str | None = Field(default=None, max_length=2048)
    tls_versions: list[TLSVersion] | None = None
    alpn_protocols: list[ALPNProtocol] | None = None
    hsts_max_age: int | None = Field(default=None, ge=0, le=2147483647)
    hsts_include_subdomains: bool | None = None
    hsts_preload: bool | None = None
    tags: Tags | None = None
    access_log: bool | None = Field(default=None, alias=ACCESS_LOG)

    @field_validator("access_log")
    @classmethod
    def _null_is_default(cls, value: bool | None) -> bool:
        return True if value is None else value

    @field_validator("insert_headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        for key, flag in value.items():
            if key not in INSERT_HEADERS:
                raise ValueError(f"header {key!r} cannot be inserted; allowed: "
                                 f"{', '.join(INSERT_HEADERS)}")
            if str(flag).lower() not in ("true", "false"):
                raise ValueError(f"insert_headers value for {key} must be 'true' or 'false'")
        return value


class ListenerGraph(_ListenerFields, ProjectOwned):
    """A listener inside a load balancer's single-call create."""

    protocol: ListenerProtocol
    protocol_port: Port
    default_pool: PoolGraph | PoolNameRef | None = None
    l7policies: list[L7PolicyGraph] = Field(default_factory=list)


class ListenerCreate(_ListenerFields, ProjectOwned):
    loadbalancer_id: UUID
    protocol: ListenerProtocol
    protocol_port: Port
    l7policies: list[L7PolicyGraph] = Field(default_factory=list)
    default_pool: PoolGraph | None = None


class ListenerUpdate(_ListenerFields):
    pass


class ListenerPublic(ResponseModel):
    id: str
    name: str
    description: str
    provisioning_status: ProvisioningStatus
    operating_status: OperatingStatus
    admin_state_up: bool
    project_id: str
    tenant_id: str
    protocol: str
    protocol_port: int
    connection_limit: int
    default_tls_container_ref: str | None
    sni_container_refs: list[str]
    default_pool_id: str | None
    l7policies: list[IdRef]
    insert_headers: dict[str, str]
    created_at: str
    updated_at: str | None
    loadbalancers: list[IdRef]
    timeout_client_data: int
    timeout_member_connect: int
    timeout_member_data: int
    timeout_tcp_inspect: int
    tags: list[str]
    client_ca_tls_container_ref: str | None
    client_authentication: str
    client_crl_container_ref: str | None
    allowed_cidrs: list[str] | None
    tls_ciphers: str | None
    tls_versions: list[str] | None
    alpn_protocols: list[str] | None
    hsts_max_age: int | None
    hsts_include_subdomains: bool
    hsts_preload: bool
    access_log: bool = Field(alias=ACCESS_LOG)


class ListenerCreateEnvelope(RequestModel):
    listener: ListenerCreate


class ListenerUpdateEnvelope(RequestModel):
    listener: ListenerUpdate


class ListenerEnvelope(ResponseModel):
    listener: ListenerPublic


class ListenerList(ResponseModel):
    listeners: list[ListenerPublic]
    listeners_links: list[Link]
