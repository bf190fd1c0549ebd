"""The load balancer tree: everything an agent needs to build one load balancer, typed.

Built once per change by the server from the database (:func:`lbaas.services.tree.build_tree`),
sent to the agent as JSON by the ``get_loadbalancer(s)`` RPC, parsed back into these classes by
:func:`parse_tree` on the agent side (:class:`lbaas.rpc.plugin_api.PluginApi`), then used as-is by
the agent manager and the haproxy driver's view builder. Shaped like the Octavia v2 wire format;
never an ORM object, never a raw dict past the RPC boundary. A field the server adds and an older
agent does not know is ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
)

from lbaas.core.status import PENDING, Provisioning


class _Node(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class L7RuleNode(_Node):
    id: str
    # COOKIE FILE_TYPE HEADER HOST_NAME PATH SSL_CONN_HAS_CERT SSL_VERIFY_RESULT SSL_DN_FIELD
    type: str
    compare_type: str  # CONTAINS ENDS_WITH EQUAL_TO REGEX STARTS_WITH
    key: str | None = None
    value: str
    invert: bool = False
    admin_state_up: bool = True
    provisioning_status: str = Provisioning.ACTIVE


class L7PolicyNode(_Node):
    id: str
    name: str = ""
    action: str  # REDIRECT_PREFIX REDIRECT_TO_POOL REDIRECT_TO_URL REJECT
    position: int
    redirect_pool_id: str | None = None
    redirect_url: str | None = None
    redirect_prefix: str | None = None
    redirect_http_code: int | None = None
    admin_state_up: bool = True
    provisioning_status: str = Provisioning.ACTIVE
    rules: list[L7RuleNode] = Field(default_factory=list)


class CertificateNode(_Node):
    """A certificate haproxy presents, with its private key: a TERMINATED_HTTPS listener's (its
    default or an SNI one) or a pool's client certificate towards its members. Read by the server
    from the secret store for the tree only; the key never shows in a repr or a log line."""

    id: str
    """The secret's (or container's) id: the agent names the certificate's file after it."""
    certificate: str
    """PEM: the certificate, then its intermediates."""
    private_key: SecretStr
    """PEM, unencrypted."""

    @field_serializer("private_key", when_used="json")
    def _reveal_key(self, key: SecretStr) -> str:
        """The tree's JSON form (the agents' RPC) carries the key itself."""
        return key.get_secret_value()


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


class ListenerNode(_Node):
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
    access_log: bool = True  # the API's "lbaas:access_log": its requests are logged
    provisioning_status: str = Provisioning.ACTIVE
    l7policies: list[L7PolicyNode] = Field(default_factory=list)
    # TERMINATED_HTTPS (the certificates and CA material are read from the secret store)
    default_tls: CertificateNode | None = None
    sni_tls: list[CertificateNode] = Field(default_factory=list)
    client_authentication: str = "NONE"  # NONE OPTIONAL MANDATORY
    client_ca: str | None = None  # PEM: the CAs a client certificate must chain to
    client_crl: str | None = None  # PEM: the CRLs of those CAs
    tls_ciphers: str | None = None  # OpenSSL cipher string (TLS 1.2 and below)
    tls_versions: list[str] = Field(default_factory=list)  # SSLv3 TLSv1 TLSv1.1 TLSv1.2 TLSv1.3
    alpn_protocols: list[str] = Field(default_factory=list)  # h2 http/1.1 http/1.0
    hsts_max_age: int | None = None  # seconds; None: no Strict-Transport-Security header
    hsts_include_subdomains: bool = False
    hsts_preload: bool = False

    _lists = field_validator("sni_tls", "tls_versions", "alpn_protocols",
                             mode="before")(_none_as_empty)

    @field_validator("insert_headers", mode="before")
    @classmethod
    def _header_flags(cls, value: Any) -> Any:
        """As the database may hold them: none at all, or flags as booleans."""
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return {str(key): str(flag) for key, flag in value.items()}
        return value

    @field_validator("allowed_cidrs", mode="before")
    @classmethod
    def _no_cidrs(cls, value: Any) -> Any:
        return [] if value is None else value


class SessionPersistenceNode(_Node):
    type: str  # SOURCE_IP HTTP_COOKIE APP_COOKIE
    cookie_name: str | None = None
    persistence_timeout: int | None = None  # seconds
    persistence_granularity: str | None = None  # netmask such as 255.255.255.255


class HealthMonitorNode(_Node):
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
    provisioning_status: str = Provisioning.ACTIVE


class MemberNode(_Node):
    id: str
    name: str = ""
    address: str
    protocol_port: int
    weight: int = 1  # 0..256; 0 drains
    backup: bool = False
    admin_state_up: bool = True
    monitor_address: str | None = None
    monitor_port: int | None = None
    provisioning_status: str = Provisioning.ACTIVE


class PoolNode(_Node):
    id: str
    name: str = ""
    protocol: str  # HTTP HTTPS PROXY PROXYV2 TCP UDP SCTP
    lb_algorithm: str  # ROUND_ROBIN LEAST_CONNECTIONS SOURCE_IP SOURCE_IP_PORT
    admin_state_up: bool = True
    session_persistence: SessionPersistenceNode | None = None
    healthmonitor: HealthMonitorNode | None = None
    members: list[MemberNode] = Field(default_factory=list)
    provisioning_status: str = Provisioning.ACTIVE
    # re-encryption towards the members (the certificates are read from the secret store)
    tls_enabled: bool = False
    tls_certificate: CertificateNode | None = None  # the client certificate members may ask for
    ca_certificate: str | None = None  # PEM: the CAs a member's certificate must chain to
    crl: str | None = None  # PEM: the CRLs of those CAs
    tls_ciphers: str | None = None
    tls_versions: list[str] = Field(default_factory=list)
    alpn_protocols: list[str] = Field(default_factory=list)
    drain_timeout: int = 0  # the API's "lbaas:drain_timeout": seconds before a drain is cut
    slow_start: int = 0  # the API's "lbaas:slow_start": seconds a member ramps up over

    _lists = field_validator("tls_versions", "alpn_protocols", mode="before")(_none_as_empty)


class SubnetNode(_Node):
    id: str
    network_id: str
    cidr: str
    gateway_ip: str | None = None
    ip_version: int = 4


class SourceAddressNode(_Node):
    """An address of the VIP network's other IP family in the load balancer's namespace: not
    served by any listener, it is what haproxy connects from to members of that family (an IPv4
    VIP with IPv6 members, or the other way round)."""

    address: str
    subnet: SubnetNode


class AmphoraNode(_Node):
    """One copy of an ACTIVE_STANDBY load balancer (:mod:`lbaas.core.amphora`). The agent on
    ``host`` builds it: the VIP interface holds ``vrrp_ip``, keepalived moves the VIP between
    this copy and the other one."""

    id: str
    position: int  # 0 or 1
    host: str | None = None  # the agent building it; None while no live agent may
    vrrp_ip: str
    vrrp_priority: int
    status: str = "PENDING_CREATE"  # PENDING_CREATE ALLOCATED ERROR


class LoadBalancerTree(_Node):
    """Everything an agent needs to build one load balancer."""

    id: str
    name: str = ""
    project_id: str
    vip_address: str
    vip_port_id: str | None = None
    vip_network_id: str
    vip_subnet: SubnetNode
    admin_state_up: bool = True
    topology: str = "SINGLE"  # SINGLE | ACTIVE_STANDBY
    provisioning_status: str
    listeners: list[ListenerNode] = Field(default_factory=list)
    pools: list[PoolNode] = Field(default_factory=list)
    revision: int | None = None
    """The load balancer's revision this tree shows; a report names it, so that a report about
    an older change cannot close a newer one."""
    vip_network_name: str | None = None
    """The VIP network's name (agents map networks to bridges by id or by name)."""
    source_addresses: list[SourceAddressNode] = Field(default_factory=list)
    """On a dual-stack VIP network: the load balancer's address of the other family."""
    agent_host: str | None = None
    """The host of the agent the server places the load balancer on. An agent handed the tree
    of a load balancer placed elsewhere removes its own copy (it was moved away). None for an
    ACTIVE_STANDBY load balancer: its copies name their hosts."""
    amphorae: list[AmphoraNode] = Field(default_factory=list)
    """ACTIVE_STANDBY: its two copies, by position (empty for SINGLE)."""

    def copy_on(self, host: str) -> AmphoraNode | None:
        """The copy ``host`` builds (ACTIVE_STANDBY), if any."""
        return next((a for a in self.amphorae if a.host == host), None)

    def peer_of(self, copy: AmphoraNode) -> AmphoraNode | None:
        """The other copy of the pair."""
        return next((a for a in self.amphorae if a.id != copy.id), None)

    def placed_on(self, host: str) -> bool:
        """Whether the server wants a copy of this load balancer on ``host``."""
        if self.amphorae:
            return self.copy_on(host) is not None
        return self.agent_host in (None, host)

    def statuses(self, members: bool = True) -> Iterator[str]:
        """The provisioning status of every object of the tree, the load balancer's first
        (the members' left out with ``members`` False)."""
        yield self.provisioning_status
        for listener in self.listeners:
            yield listener.provisioning_status
            for policy in listener.l7policies:
                yield policy.provisioning_status
                yield from (rule.provisioning_status for rule in policy.rules)
        for pool in self.pools:
            yield pool.provisioning_status
            if members:
                yield from (member.provisioning_status for member in pool.members)
            if pool.healthmonitor is not None:
                yield pool.healthmonitor.provisioning_status

    def has_pending(self) -> bool:
        """Whether any object of the tree awaits a change (a PENDING_* status)."""
        return any(status in PENDING for status in self.statuses())


class MemberChange(_Node):
    """A change to one member, carried by the cast about it (agent RPC 1.2): with the tree of the
    revision before, all an agent needs to build the tree of ``revision`` without fetching it.

    The server sends one (:func:`lbaas.services.tree.member_change`) only when this member is
    the whole difference between the two: every other object of the tree is ACTIVE, so the
    previous change closed successfully and this change touched nothing else (not a batch).
    The agent applies it only to the tree it deployed at ``revision - 1``
    (:meth:`apply_to`); anything else and it fetches the tree, as for every other change.
    """

    revision: int
    provisioning_status: str
    """The load balancer's, at ``revision`` (the change holds it: PENDING_UPDATE)."""
    pool_id: str
    member: MemberNode
    """The member as it is now (PENDING_DELETE while its removal is in flight)."""
    amphorae: list[AmphoraNode] = Field(default_factory=list)
    """The copies of a pair as they are now: their statuses change without a revision."""

    def apply_to(self, held: LoadBalancerTree) -> LoadBalancerTree | None:
        """The tree at ``revision``, built from ``held``, the tree at the revision before; None
        when ``held`` is not that tree or holds something this change cannot settle."""
        if held.revision is None or held.revision != self.revision - 1:
            return None
        base = settled(held)
        if base is None or not any(pool.id == self.pool_id for pool in base.pools):
            return None
        pools = [pool if pool.id != self.pool_id else
                 pool.model_copy(update={"members": _upsert(pool.members, self.member)})
                 for pool in base.pools]
        return base.model_copy(update={
            "revision": self.revision, "provisioning_status": self.provisioning_status,
            "pools": pools, "amphorae": list(self.amphorae)})


def _upsert(members: list[MemberNode], member: MemberNode) -> list[MemberNode]:
    """``members`` with ``member`` in place of the one of its id, or last (the server orders a
    pool's members by creation: a new one is the newest)."""
    if any(m.id == member.id for m in members):
        return [member if m.id == member.id else m for m in members]
    return [*members, member]


def settled(tree: LoadBalancerTree) -> LoadBalancerTree | None:
    """``tree`` as the server holds it once the change it shows closed successfully: members
    being deleted gone, every other object ACTIVE (:mod:`lbaas.services.statuses`). None when
    anything else was being deleted: closing that deletion changes other objects too (a deleted
    pool leaves the listeners that used it), which only the server's own tree tells."""
    deleting = Provisioning.PENDING_DELETE
    if deleting in tree.statuses(members=False):
        return None
    active = {"provisioning_status": Provisioning.ACTIVE}
    listeners = [
        listener.model_copy(update={**active, "l7policies": [
            policy.model_copy(update={**active, "rules": [
                rule.model_copy(update=active) for rule in policy.rules]})
            for policy in listener.l7policies]})
        for listener in tree.listeners]
    pools = [
        pool.model_copy(update={
            **active,
            "members": [member.model_copy(update=active) for member in pool.members
                        if member.provisioning_status != deleting],
            "healthmonitor": (None if pool.healthmonitor is None
                              else pool.healthmonitor.model_copy(update=active))})
        for pool in tree.pools]
    return tree.model_copy(update={**active, "listeners": listeners, "pools": pools})


class TreeRejected(Exception):
    """The server sent a tree this agent cannot read (a version mismatch, a server bug)."""

    def __init__(self, lb_id: str, revision: int | None, reason: str) -> None:
        super().__init__(f"the tree of load balancer {lb_id} is not valid: {reason}")
        self.lb_id = lb_id
        self.revision = revision


def parse_tree(raw: Mapping[str, Any] | None) -> LoadBalancerTree | None:
    """The tree from its JSON form (None stays None: the server no longer knows it).

    Raises :class:`TreeRejected`, naming the load balancer and the revision it had, when the
    document does not fit :class:`LoadBalancerTree`."""
    if raw is None:
        return None
    try:
        return LoadBalancerTree.model_validate(raw)
    except ValidationError as exc:
        revision = raw.get("revision")
        raise TreeRejected(str(raw.get("id")), revision if isinstance(revision, int) else None,
                           str(exc)) from None
