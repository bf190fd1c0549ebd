"""Schemas of Octavia's amphora API (``/v2/octavia/amphorae``): the copies of load balancers as
operators see them (:mod:`lbaas.core.amphora`). Responses only: the API takes no body.

The fields are Octavia's, in its order, plus ``agent_host`` (the host of the agent running the
copy; clients ignore attributes they do not know). What lbaas has no equivalent of (a Nova
server, an image, a compute flavor, a management network address, a certificate) is null.
"""

from __future__ import annotations

from lbaas.core.amphora import AmphoraStatus, Role
from lbaas.schemas.common import Link, ResponseModel


class AmphoraPublic(ResponseModel):
    id: str
    loadbalancer_id: str | None
    compute_id: str | None
    lb_network_ip: str | None
    vrrp_ip: str | None
    ha_ip: str | None
    vrrp_port_id: str | None
    ha_port_id: str | None
    cert_expiration: str | None
    cert_busy: bool
    role: Role | None
    status: AmphoraStatus
    vrrp_interface: str | None
    vrrp_id: int | None
    vrrp_priority: int | None
    cached_zone: str | None
    created_at: str
    updated_at: str | None
    image_id: str | None
    compute_flavor: str | None
    agent_host: str | None


class AmphoraEnvelope(ResponseModel):
    amphora: AmphoraPublic


class AmphoraList(ResponseModel):
    amphorae: list[AmphoraPublic]
    amphorae_links: list[Link]


class AmphoraStatistics(ResponseModel):
    """The counters of one listener on one copy."""

    active_connections: int
    bytes_in: int
    bytes_out: int
    id: str
    listener_id: str
    loadbalancer_id: str
    request_errors: int
    total_connections: int


class AmphoraStatsEnvelope(ResponseModel):
    amphora_stats: list[AmphoraStatistics]
