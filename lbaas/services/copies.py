"""The two copies of an ACTIVE_STANDBY load balancer, on the server side.

Placing them on two agents with their own VRRP addresses (the haproxy provider, at create),
recording what their agents report (the plugin RPC endpoints: built at a revision, the VRRP role
seen), and the rules that say when the pair's change is done and how healthy it is. Moving a
lost copy to another agent is :mod:`lbaas.services.rescheduling`'s job (the same evidence rule
as for a SINGLE load balancer).

A SINGLE load balancer has no copy rows: its agent is ``LoadBalancer.agent_id``. An
ACTIVE_STANDBY one has ``agent_id`` None and two :class:`lbaas.db.models.Amphora` rows, each
keeping its id, position, VRRP port and priority for the load balancer's life.
"""

from __future__ import annotations

import logging

from oslo_config import cfg
from sqlalchemy import select
from sqlalchemy.orm import Session

from lbaas.core.amphora import VRRP_PRIORITIES, AmphoraStatus, Topology
from lbaas.core.errors import InvalidInput, ServiceUnavailable
from lbaas.db import models
from lbaas.services import agents, networks

LOG = logging.getLogger(__name__)

VRRP_OWNER = "lbaas:vrrp"
"""``device_owner`` of the port holding a copy's VRRP address."""


def is_pair(lb: models.LoadBalancer) -> bool:
    return lb.topology == Topology.ACTIVE_STANDBY


def check_pair_placeable(session: Session, conf: cfg.ConfigOpts,
                         lb: models.LoadBalancer) -> list[models.Agent]:
    """The two agents a new pair goes to: the two least loaded live agents that may host it
    (503 when fewer than two are running)."""
    candidates = agents.agents_for(session, conf, lb)
    if len(candidates) < 2:
        zone = (f" in availability zone {lb.availability_zone}"
                if lb.availability_zone else "")
        raise ServiceUnavailable(
            f"An ACTIVE_STANDBY load balancer needs two live load balancer agents{zone} that "
            f"reach network {lb.vip_network_id}; {len(candidates)} running. Try again when "
            "another one is.")
    return candidates[:2]


def place_pair(session: Session, conf: cfg.ConfigOpts, lb: models.LoadBalancer
               ) -> list[models.Amphora]:
    """Create ``lb``'s two copies on two different live agents, each with an address of the
    VIP subnet for VRRP. Call once the load balancer's row and VIP exist (same transaction)."""
    if networks.other_family_subnet(session, str(lb.vip_network_id),
                                    4 if ":" not in str(lb.vip_address) else 6) is not None:
        raise InvalidInput("ACTIVE_STANDBY load balancers on a network with both IPv4 and "
                           "IPv6 subnets are not supported yet: use a single-stack VIP "
                           "network or the SINGLE topology.")
    chosen = check_pair_placeable(session, conf, lb)
    subnet = networks.find_subnet(session, str(lb.vip_subnet_id))
    copies = []
    for position, agent in enumerate(chosen):
        amphora_id = models.new_id()
        port = networks.allocate_vip(session, subnet, lb.project_id, lb.id, None,
                                     device_owner=VRRP_OWNER)
        amphora = models.Amphora(
            id=amphora_id, load_balancer_id=lb.id, position=position, agent_id=agent.id,
            status=AmphoraStatus.PENDING_CREATE, role=None, vrrp_ip=port.ip_address,
            vrrp_port_id=port.id, vrrp_priority=VRRP_PRIORITIES[position], revision=0,
            created_at=models.utcnow())
        session.add(amphora)
        copies.append(amphora)
    session.flush()
    return copies


def copy_of(session: Session, lb_id: str, host: str, lock: bool = False
            ) -> models.Amphora | None:
    """The copy of ``lb_id`` that the agent on ``host`` runs, if any."""
    agent = session.scalars(select(models.Agent).where(models.Agent.host == host)).first()
    if agent is None:
        return None
    stmt = select(models.Amphora).where(models.Amphora.load_balancer_id == lb_id,
                                        models.Amphora.agent_id == agent.id)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def record_report(session: Session, lb_id: str, host: str, status: str | None,
                  role: str | None, revision: int | None) -> models.Amphora | None:
    """Store what the agent on ``host`` says of its copy of ``lb_id``: built (ALLOCATED) at
    ``revision``, failed (ERROR), and/or its VRRP role. None when that agent runs no copy of
    it (a late report from an agent the copy moved away from)."""
    # The load balancer's row first: the two copies' reports run one after the other, so the
    # second always sees the first (whichever is second closes the change).
    if session.get(models.LoadBalancer, lb_id, with_for_update=True) is None:
        return None
    amphora = copy_of(session, lb_id, host, lock=True)
    if amphora is None:
        LOG.info("report from %s about load balancer %s ignored: no copy of it there", host,
                 lb_id)
        return None
    if role is not None and amphora.role != role:
        LOG.info("copy %s of load balancer %s on %s is now %s", amphora.id, lb_id, host, role)
        amphora.role = role
    if status is not None:
        amphora.status = status
        if status == AmphoraStatus.ALLOCATED and revision is not None:
            amphora.revision = max(amphora.revision, revision)
    session.flush()
    return amphora


def pair_applied(lb: models.LoadBalancer, revision: int) -> bool:
    """Whether the pair's change at ``revision`` is done: every copy not in ERROR (a lost copy
    does not hold the pair back; it is rebuilt from the current tree) applied it."""
    working = [a for a in lb.amphorae if a.status != AmphoraStatus.ERROR]
    return bool(working) and all(a.status == AmphoraStatus.ALLOCATED and a.revision >= revision
                                 for a in working)
