"""The load balancer tree the server sends to agents (``get_loadbalancer``) and drivers render.

One pydantic model family, shaped like the Octavia v2 wire format, so a driver never touches ORM
objects. Built on the server from the database by ``lbaas.services.tree``; parsed on the agent side
with ``LoadBalancerTree.model_validate``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class L7RulePayload(_Payload):
    id: str
    # COOKIE FILE_TYPE HEADER HOST_NAME PATH SSL_CONN_HAS_CERT SSL_VERIFY_RESULT SSL_DN_FIELD
    type: str
    compare_type: str  # CONTAINS ENDS_WITH EQUAL_TO REGEX STARTS_WITH
    key: str | None = None
    value: str
    invert: bool = False
    admin_state_up: bool = True


class L7PolicyPayload(_Payload):
    id: str
    name: str = ""
    action: str  # REDIRECT_PREFIX REDIRECT_TO_POOL REDIRECT_TO_URL REJECT
    position: int
    redirect_pool_id: str | None = None
    redirect_url: str | None = None
    redirect_prefix: str | None = None
    redirect_http_code: int | None = None
    admin_state_up: bool = True
    rules: list[L7RulePayload] = Field(default_factory=list)


class ListenerPayload(_Payload):
    id: str
    name: str = ""
    protocol: str  # HTTP HTTPS TCP TERMINATED_HTTPS UDP SCTP PROMETHEUS
    protocol_port: int
    admin_state_up: bool = True
    connection_limit: int = -1  # -1: unlimited
    default_pool_id: str | None = None
    timeout_client_data: int = 50000  # milliseconds
    timeout_member_connect: int = 5000
    timeout_member_data: int = 50000
    timeout_tcp_inspect: int = 0
    insert_headers: dict[str, str] = Field(default_factory=dict)  # {"X-Forwarded-For": "true"}
    allowed_cidrs: list[str] = Field(default_factory=list)
    provisioning_status: str = "ACTIVE"
    l7policies: list[L7PolicyPayload] = Field(default_factory=list)


class SessionPersistencePayload(_Payload):
    type: str  # SOURCE_IP HTTP_COOKIE APP_COOKIE
    cookie_name: str | None = None
    persistence_timeout: int | None = None  # seconds
    persistence_granularity: str | None = None  # netmask such as 255.255.255.255


class HealthMonitorPayload(_Payload):
    id: str
    type: str  # HTTP HTTPS PING TCP TLS-HELLO UDP-CONNECT SCTP
    delay: int  # seconds between checks
    timeout: int  # seconds a check may take
    max_retries: int  # successes to go ONLINE (HAProxy "rise")
    max_retries_down: int = 3  # failures to go ERROR (HAProxy "fall")
    http_method: str | None = None
    url_path: str | None = None
    expected_codes: str | None = None  # "200", "200,202", "200-204"
    http_version: float | None = None
    domain_name: str | None = None
    admin_state_up: bool = True


class MemberPayload(_Payload):
    id: str
    name: str = ""
    address: str
    protocol_port: int
    weight: int = 1  # 0..256; 0 drains
    backup: bool = False
    admin_state_up: bool = True
    monitor_address: str | None = None
    monitor_port: int | None = None
    provisioning_status: str = "ACTIVE"


class PoolPayload(_Payload):
    id: str
    name: str = ""
    protocol: str  # HTTP HTTPS PROXY PROXYV2 TCP UDP SCTP
    lb_algorithm: str  # ROUND_ROBIN LEAST_CONNECTIONS SOURCE_IP SOURCE_IP_PORT
    admin_state_up: bool = True
    session_persistence: SessionPersistencePayload | None = None
    healthmonitor: HealthMonitorPayload | None = None
    members: list[MemberPayload] = Field(default_factory=list)
    provisioning_status: str = "ACTIVE"


class SubnetPayload(_Payload):
    id: str
    network_id: str
    cidr: str
    gateway_ip: str | None = None
    ip_version: int = 4


class LoadBalancerTree(_Payload):
    """Everything an agent needs to build one load balancer."""

    id: str
    name: str = ""
    project_id: str
    vip_address: str
    vip_port_id: str | None = None
    vip_network_id: str
    vip_subnet: SubnetPayload
    admin_state_up: bool = True
    topology: str = "SINGLE"  # SINGLE | ACTIVE_STANDBY
    provisioning_status: str
    listeners: list[ListenerPayload] = Field(default_factory=list)
    pools: list[PoolPayload] = Field(default_factory=list)
