"""SQLAlchemy 2 models: the desired state of every load balancer, plus networks, tokens, quotas and
the secret store's secrets and containers.

Attribute names follow the Octavia v2 wire format so that API schemas map one to one. Tags live in
one table keyed by the tagged object's id; each resource exposes them through ``tag_rows``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from lbaas.core import kinds
from lbaas.core.status import Operating, Provisioning


def new_id() -> str:
    """A fresh object id (UUID4 string, the form Octavia uses)."""
    return str(uuid.uuid4())


def utcnow() -> dt.datetime:
    """Naive UTC timestamp, stored without a zone as Octavia does. Microseconds are kept so that
    the default list order (created_at, id) is creation order; responses show seconds."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
"""The column type of :func:`utcnow` values: MySQL's plain DATETIME would drop the microseconds
(and with them creation order within a second)."""


Double = Float().with_variant(mysql.DOUBLE(asdecimal=False), "mysql", "mariadb")
"""A float column as SQLite and PostgreSQL store it (8 bytes): MySQL's FLOAT has 4, and 1.1
read back from it equals no 1.1 in a filter."""


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Tag(Base):
    __tablename__ = "tags"
    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)


def _tags_relationship(owner: str) -> Any:
    return relationship(
        Tag,
        primaryjoin=f"foreign(Tag.resource_id) == {owner}.id",
        cascade="all, delete-orphan",
        lazy="selectin",
        overlaps="tag_rows",
    )


class _Common:
    """Columns shared by every tenant-owned load-balancing object."""

    kind: ClassVar[kinds.Kind]
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    provisioning_status: Mapped[str] = mapped_column(String(16),
                                                     default=Provisioning.PENDING_CREATE)
    operating_status: Mapped[str] = mapped_column(String(16), default=Operating.OFFLINE)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True,
                                                          onupdate=utcnow)

    @property
    def tags(self) -> list[str]:
        return sorted(t.tag for t in self.tag_rows)

    @tags.setter
    def tags(self, values: list[str]) -> None:
        wanted = list(dict.fromkeys(values))
        if self.id is None:
            self.id = new_id()
        self.tag_rows = [Tag(resource_id=self.id, tag=v) for v in wanted]


class LoadBalancer(_Common, Base):
    __tablename__ = "load_balancers"
    kind: ClassVar[kinds.Kind] = kinds.LOADBALANCER
    vip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    vip_port_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    vip_subnet_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    vip_network_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    vip_qos_policy_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    provider: Mapped[str] = mapped_column(String(64), default="noop")
    flavor_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    topology: Mapped[str] = mapped_column(String(16), default="SINGLE")
    agent_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    status_changed_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    # Bumped by every change; an agent reports which revision it applied, so a late report
    # about an older change can never close a newer one.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    tag_rows: Mapped[list[Tag]] = _tags_relationship("LoadBalancer")
    listeners: Mapped[list[Listener]] = relationship(
        back_populates="load_balancer", cascade="all, delete-orphan", lazy="selectin",
        order_by="Listener.created_at")
    pools: Mapped[list[Pool]] = relationship(
        back_populates="load_balancer", cascade="all, delete-orphan", lazy="selectin",
        order_by="Pool.created_at")
    amphorae: Mapped[list[Amphora]] = relationship(
        back_populates="load_balancer", cascade="all, delete-orphan", lazy="selectin",
        order_by="Amphora.position")


class Amphora(Base):
    """One copy of an ACTIVE_STANDBY load balancer (:mod:`lbaas.core.amphora`): the agent it runs
    on, its own address on the VIP subnet for VRRP, and the role and status its agent reports.

    A copy keeps its id, position, VRRP port and priority for the life of its load balancer;
    when its agent is lost, the copy is rebuilt on another agent (``agent_id`` changes), so the
    surviving copy's keepalived peer never changes."""

    __tablename__ = "amphorae"
    __table_args__ = (UniqueConstraint("load_balancer_id", "position"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    load_balancer_id: Mapped[str] = mapped_column(ForeignKey("load_balancers.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="PENDING_CREATE")
    # MASTER / BACKUP / FAULT as its agent last saw it; None before the first report.
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    vrrp_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    vrrp_port_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    vrrp_priority: Mapped[int] = mapped_column(Integer, default=100)
    # The load balancer revision this copy last applied (the change closes when both have).
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True,
                                                          onupdate=utcnow)

    load_balancer: Mapped[LoadBalancer] = relationship(back_populates="amphorae")


class Listener(_Common, Base):
    __tablename__ = "listeners"
    kind: ClassVar[kinds.Kind] = kinds.LISTENER
    __table_args__ = (UniqueConstraint("load_balancer_id", "protocol_port", "protocol_kind"),)
    load_balancer_id: Mapped[str] = mapped_column(ForeignKey("load_balancers.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(32))
    # TCP-like and UDP-like listeners may share a port number; two of the same kind may not.
    protocol_kind: Mapped[str] = mapped_column(String(8))
    protocol_port: Mapped[int] = mapped_column(Integer)
    connection_limit: Mapped[int] = mapped_column(Integer, default=-1)
    default_pool_id: Mapped[str | None] = mapped_column(
        ForeignKey("pools.id", use_alter=True, name="fk_listener_default_pool"), nullable=True,
        index=True)
    default_tls_container_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sni_container_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    client_ca_tls_container_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    client_authentication: Mapped[str] = mapped_column(String(16), default="NONE")
    client_crl_container_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    timeout_client_data: Mapped[int] = mapped_column(Integer, default=50000)
    timeout_member_connect: Mapped[int] = mapped_column(Integer, default=5000)
    timeout_member_data: Mapped[int] = mapped_column(Integer, default=50000)
    timeout_tcp_inspect: Mapped[int] = mapped_column(Integer, default=0)
    insert_headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    allowed_cidrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    tls_ciphers: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    tls_versions: Mapped[list[str]] = mapped_column(JSON, default=list)
    alpn_protocols: Mapped[list[str]] = mapped_column(JSON, default=list)
    hsts_max_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hsts_include_subdomains: Mapped[bool] = mapped_column(Boolean, default=False)
    hsts_preload: Mapped[bool] = mapped_column(Boolean, default=False)
    access_log: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    tag_rows: Mapped[list[Tag]] = _tags_relationship("Listener")
    load_balancer: Mapped[LoadBalancer] = relationship(back_populates="listeners")
    # Declared (not only the column) so the unit of work inserts pools before listeners.
    default_pool: Mapped[Pool | None] = relationship(foreign_keys=[default_pool_id],
                                                     overlaps="default_of_listeners")
    l7policies: Mapped[list[L7Policy]] = relationship(
        back_populates="listener", cascade="all, delete-orphan", lazy="selectin",
        order_by="L7Policy.position")


class Pool(_Common, Base):
    __tablename__ = "pools"
    kind: ClassVar[kinds.Kind] = kinds.POOL
    load_balancer_id: Mapped[str] = mapped_column(ForeignKey("load_balancers.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(16))
    lb_algorithm: Mapped[str] = mapped_column(String(32))
    session_persistence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    tls_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    tls_container_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    ca_tls_container_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    crl_container_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    tls_ciphers: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    tls_versions: Mapped[list[str]] = mapped_column(JSON, default=list)
    alpn_protocols: Mapped[list[str]] = mapped_column(JSON, default=list)
    drain_timeout: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    slow_start: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    tag_rows: Mapped[list[Tag]] = _tags_relationship("Pool")
    load_balancer: Mapped[LoadBalancer] = relationship(back_populates="pools")
    members: Mapped[list[Member]] = relationship(
        back_populates="pool", cascade="all, delete-orphan", lazy="selectin",
        order_by="Member.created_at")
    healthmonitor: Mapped[HealthMonitor | None] = relationship(
        back_populates="pool", cascade="all, delete-orphan", lazy="selectin", uselist=False)
    default_of_listeners: Mapped[list[Listener]] = relationship(
        primaryjoin="Listener.default_pool_id == Pool.id", viewonly=True, lazy="selectin")
    redirecting_policies: Mapped[list[L7Policy]] = relationship(
        primaryjoin="L7Policy.redirect_pool_id == Pool.id", viewonly=True, lazy="selectin")


class Member(_Common, Base):
    __tablename__ = "members"
    kind: ClassVar[kinds.Kind] = kinds.MEMBER
    __table_args__ = (UniqueConstraint("pool_id", "address", "protocol_port"),)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id"), index=True)
    address: Mapped[str] = mapped_column(String(64))
    protocol_port: Mapped[int] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    backup: Mapped[bool] = mapped_column(Boolean, default=False)
    subnet_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    monitor_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    monitor_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    vnic_type: Mapped[str] = mapped_column(String(16), default="normal")

    tag_rows: Mapped[list[Tag]] = _tags_relationship("Member")
    pool: Mapped[Pool] = relationship(back_populates="members")


class HealthMonitor(_Common, Base):
    __tablename__ = "health_monitors"
    kind: ClassVar[kinds.Kind] = kinds.HEALTH_MONITOR
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id"), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    delay: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[int] = mapped_column(Integer)
    max_retries: Mapped[int] = mapped_column(Integer)
    max_retries_down: Mapped[int] = mapped_column(Integer, default=3)
    http_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    url_path: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    expected_codes: Mapped[str | None] = mapped_column(String(64), nullable=True)
    http_version: Mapped[float | None] = mapped_column(Double, nullable=True)
    domain_name: Mapped[str | None] = mapped_column(String(255), nullable=True)

    tag_rows: Mapped[list[Tag]] = _tags_relationship("HealthMonitor")
    pool: Mapped[Pool] = relationship(back_populates="healthmonitor")


class L7Policy(_Common, Base):
    __tablename__ = "l7policies"
    kind: ClassVar[kinds.Kind] = kinds.L7POLICY
    listener_id: Mapped[str] = mapped_column(ForeignKey("listeners.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    redirect_pool_id: Mapped[str | None] = mapped_column(ForeignKey("pools.id"), nullable=True,
                                                         index=True)
    redirect_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    redirect_prefix: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    redirect_http_code: Mapped[int | None] = mapped_column(Integer, nullable=True)

    tag_rows: Mapped[list[Tag]] = _tags_relationship("L7Policy")
    listener: Mapped[Listener] = relationship(back_populates="l7policies")
    redirect_pool: Mapped[Pool | None] = relationship(foreign_keys=[redirect_pool_id],
                                                      overlaps="redirecting_policies")
    rules: Mapped[list[L7Rule]] = relationship(
        back_populates="l7policy", cascade="all, delete-orphan", lazy="selectin",
        order_by="L7Rule.created_at")


class L7Rule(_Common, Base):
    __tablename__ = "l7rules"
    kind: ClassVar[kinds.Kind] = kinds.L7RULE
    l7policy_id: Mapped[str] = mapped_column(ForeignKey("l7policies.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    compare_type: Mapped[str] = mapped_column(String(32))
    key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    value: Mapped[str] = mapped_column(String(255))
    invert: Mapped[bool] = mapped_column(Boolean, default=False)

    tag_rows: Mapped[list[Tag]] = _tags_relationship("L7Rule")
    l7policy: Mapped[L7Policy] = relationship(back_populates="rules")


TREE_MODELS = (LoadBalancer, Listener, Pool, HealthMonitor, Member, L7Policy, L7Rule)
"""The models of a load balancer's tree, in the order of :data:`lbaas.core.kinds.TREE_KINDS`."""


class Quota(Base):
    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    load_balancer: Mapped[int | None] = mapped_column(Integer, nullable=True)
    listener: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pool: Mapped[int | None] = mapped_column(Integer, nullable=True)
    member: Mapped[int | None] = mapped_column(Integer, nullable=True)
    health_monitor: Mapped[int | None] = mapped_column(Integer, nullable=True)
    l7policy: Mapped[int | None] = mapped_column(Integer, nullable=True)
    l7rule: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Token(Base):
    """An API credential. Only the SHA-256 of the secret is stored."""

    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)


class Network(Base):
    __tablename__ = "networks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), default="")
    project_id: Mapped[str] = mapped_column(String(255), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    subnets: Mapped[list[Subnet]] = relationship(
        back_populates="network", cascade="all, delete-orphan", lazy="selectin")


class Subnet(Base):
    __tablename__ = "subnets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    project_id: Mapped[str] = mapped_column(String(255), default="")
    cidr: Mapped[str] = mapped_column(String(64))
    ip_version: Mapped[int] = mapped_column(Integer, default=4)
    gateway_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    allocation_pools: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    network: Mapped[Network] = relationship(back_populates="subnets")


class Port(Base):
    """An address taken on a subnet (VIPs), so that two load balancers never share one."""

    __tablename__ = "ports"
    __table_args__ = (UniqueConstraint("subnet_id", "ip_address"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), default="")
    project_id: Mapped[str] = mapped_column(String(255), default="")
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"))
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id"), index=True)
    ip_address: Mapped[str] = mapped_column(String(64))
    mac_address: Mapped[str] = mapped_column(String(17))
    device_owner: Mapped[str] = mapped_column(String(64), default="lbaas:vip")
    device_id: Mapped[str] = mapped_column(String(36), default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)


class FlavorProfile(Base):
    __tablename__ = "flavor_profiles"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    provider_name: Mapped[str] = mapped_column(String(64))
    flavor_data: Mapped[str] = mapped_column(Text)  # JSON text, as in Octavia


class Flavor(Base):
    __tablename__ = "flavors"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    flavor_profile_id: Mapped[str] = mapped_column(ForeignKey("flavor_profiles.id"))


class AvailabilityZoneProfile(Base):
    """What an availability zone means to one provider (``availability_zone_data``, JSON text
    as in Octavia, checked against the provider's zone capabilities)."""

    __tablename__ = "availability_zone_profiles"
    kind: ClassVar[kinds.Kind] = kinds.AVAILABILITY_ZONE_PROFILE
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    provider_name: Mapped[str] = mapped_column(String(255))
    availability_zone_data: Mapped[str] = mapped_column(String(4096))


class AvailabilityZone(Base):
    """A named availability zone load balancers are created in; its name is its key."""

    __tablename__ = "availability_zones"
    kind: ClassVar[kinds.Kind] = kinds.AVAILABILITY_ZONE
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    availability_zone_profile_id: Mapped[str] = mapped_column(
        ForeignKey("availability_zone_profiles.id"), index=True)


class Agent(Base):
    """A network node agent, as reported by its heartbeats."""

    __tablename__ = "agents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    agent_type: Mapped[str] = mapped_column(String(64), default="Loadbalancer agent")
    binary: Mapped[str] = mapped_column(String(64), default="lbaas-agent")
    topic: Mapped[str] = mapped_column(String(64), default="lbaas_agent")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    configurations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The agent's [agent] availability_zone, as neutron agents report theirs.
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova",
                                                   server_default="nova")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    started_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    heartbeat_timestamp: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)


class Lease(Base):
    """A named job that one server at a time may run (housekeeping), until ``expires_at``
    unless its holder renews it (:mod:`lbaas.db.leases`)."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class LoadBalancerStats(Base):
    """Counters per listener as last reported by the agent (the LB's are their sum)."""

    __tablename__ = "listener_statistics"
    listener_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    load_balancer_id: Mapped[str] = mapped_column(String(36), index=True)
    bytes_in: Mapped[int] = mapped_column(Integer, default=0)
    bytes_out: Mapped[int] = mapped_column(Integer, default=0)
    active_connections: Mapped[int] = mapped_column(Integer, default=0)
    total_connections: Mapped[int] = mapped_column(Integer, default=0)
    request_errors: Mapped[int] = mapped_column(Integer, default=0)
    # Raw counters of the last report: HAProxy's restart from zero after a reload, so totals
    # grow by the difference, or by the whole value when it went down.
    reported: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, default=dict)



EncryptedPayload = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")
"""A Fernet token: MySQL's BLOB would hold 64 KiB, less than a raised payload limit needs."""


class Secret(Base):
    """A secret of the built-in secret store (Barbican's model); the payload is encrypted
    (``lbaas/services/secret_cipher.py``), None until a two-step PUT supplies it."""

    __tablename__ = "secrets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    creator_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    secret_type: Mapped[str] = mapped_column(String(80), default="opaque")
    algorithm: Mapped[str | None] = mapped_column(String(255), nullable=True)
    bit_length: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mode: Mapped[str | None] = mapped_column(String(255), nullable=True)
    expiration: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)
    payload_content_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    encrypted_payload: Mapped[bytes | None] = mapped_column(EncryptedPayload, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:  # never the payload, even encrypted
        return f"Secret(id={self.id!r}, project_id={self.project_id!r})"


class SecretContainer(Base):
    """A named group of secrets (Barbican's container: generic, certificate or rsa)."""

    __tablename__ = "secret_containers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    creator_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    secret_refs: Mapped[list[ContainerSecret]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ContainerSecret.position")


class ContainerSecret(Base):
    """One named secret of a container (``{"name": "certificate", "secret_ref": …}``)."""

    __tablename__ = "secret_container_refs"
    container_id: Mapped[str] = mapped_column(ForeignKey("secret_containers.id"),
                                              primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    secret_id: Mapped[str] = mapped_column(ForeignKey("secrets.id"), index=True)
