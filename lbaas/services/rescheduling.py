"""Moving load balancers off dead agents, only on evidence that their old copy is gone.

Called by housekeeping (:mod:`lbaas.services.housekeeping`, in the server holding its lease) at
every pass, and by the failover of a load balancer whose agent is dead
(:mod:`lbaas.providers.haproxy`). The rule:

* An agent is dead when it has not reported for ``[housekeeping] agent_down_time``. That alone
  moves nothing: the agent process may have died on a node that still runs haproxy and holds the
  VIP, and a second copy would put the address on the wire twice.
* A live agent that maps the VIP network probes the VIP and the load balancer's other addresses
  on its bridge (ARP and neighbour-discovery duplicate-address probes,
  :mod:`lbaas.drivers.interface.probe`). If anything answers, the load balancer stays where it
  is and is probed again at the next pass. Only when nothing answers is it rebuilt on the least
  loaded live agent that may host it (its availability zone's, mapping its network): its
  ``agent_id`` changes by compare-and-set (two servers never move it twice), it goes to
  ``PENDING_UPDATE`` with ``operating_status`` ``ERROR`` (it serves nothing meanwhile), and the
  new agent's report closes the change and recomputes the operating status.
* No live agent maps the network (nobody can probe, nobody could host it): nothing moves. A
  silent load balancer that no live agent may host (its zone has none left) stays, with
  ``operating_status`` ERROR until its agent reports again.

When the dead node comes back, its agent fences every copy whose haproxy is not running before
it hears from the server (``HaproxyNamespaceDriver.fence_stopped`` in
:mod:`lbaas.drivers.haproxy.namespace_driver`) and removes the copies the server now places
elsewhere (their tree names another host).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from oslo_config import cfg
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.amphora import AmphoraStatus
from lbaas.core.status import Operating, Provisioning
from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.services import agents, operating, statuses
from lbaas.services.networks import source_port_id

LOG = logging.getLogger(__name__)

REBUILT_FROM = (Provisioning.ACTIVE, Provisioning.ERROR)
"""Statuses a moved load balancer leaves for PENDING_UPDATE (a pending one keeps its status:
the work in flight is sent to the new agent)."""


class AddressProbe(Protocol):
    """Asks an agent which addresses answer on a network (the haproxy provider's agents)."""

    def answering(self, host: str, network_id: str, network_name: str | None,
                  addresses: list[str]) -> set[str] | None:
        """The addresses some host answers for on the network, as seen from the agent on
        ``host``; None when that agent maps no bridge to the network. Raises when the agent
        does not answer."""
        ...


@dataclass(frozen=True)
class Stranded:
    """A load balancer whose agent is dead, or one copy of a pair whose agent is dead
    (``amphora_id``; its addresses: the copy's VRRP address, not the VIP the other copy
    holds)."""

    id: str
    provider: str
    agent_id: str
    network_id: str
    network_name: str | None
    addresses: tuple[str, ...]
    amphora_id: str | None = None


def stranded(session: Session, conf: cfg.ConfigOpts) -> list[Stranded]:
    """The load balancers of dead agents, oldest first."""
    down = conf.housekeeping.agent_down_time
    dead = [a.id for a in session.scalars(select(models.Agent)) if not agents.is_alive(a, down)]
    if not dead:
        return []
    lbs = session.scalars(select(models.LoadBalancer)
                          .where(models.LoadBalancer.agent_id.in_(dead))
                          .order_by(models.LoadBalancer.created_at))
    found = [describe(session, lb) for lb in lbs if lb.agent_id and lb.vip_network_id]
    lost = session.scalars(select(models.Amphora)
                           .where(models.Amphora.agent_id.in_(dead))
                           .order_by(models.Amphora.created_at))
    found += [describe_copy(session, amphora.load_balancer, amphora) for amphora in lost
              if amphora.load_balancer.vip_network_id
              and amphora.load_balancer.provisioning_status != Provisioning.PENDING_DELETE]
    return found


def describe(session: Session, lb: models.LoadBalancer) -> Stranded:
    """What probing and moving ``lb`` needs to know of it."""
    network = session.get(models.Network, lb.vip_network_id)
    source = session.get(models.Port, source_port_id(lb.id))
    addresses = tuple(a for a in (lb.vip_address, source.ip_address if source else None) if a)
    return Stranded(id=lb.id, provider=lb.provider, agent_id=str(lb.agent_id),
                    network_id=str(lb.vip_network_id),
                    network_name=network.name if network else None, addresses=addresses)


def describe_copy(session: Session, lb: models.LoadBalancer, amphora: models.Amphora
                  ) -> Stranded:
    """What probing and moving one copy of pair ``lb`` needs to know of it."""
    network = session.get(models.Network, lb.vip_network_id)
    return Stranded(id=lb.id, provider=lb.provider, agent_id=str(amphora.agent_id),
                    network_id=str(lb.vip_network_id),
                    network_name=network.name if network else None,
                    addresses=(str(amphora.vrrp_ip),), amphora_id=amphora.id)


def prober_for(session: Session, conf: cfg.ConfigOpts, network_id: str,
               exclude: str | None = None) -> models.Agent | None:
    """A live agent mapping ``network_id`` (whatever its zone), least loaded first."""
    candidates = agents.eligible_agents(session, conf, network_id, exclude=exclude)
    return candidates[0] if candidates else None


def silent(probe: AddressProbe, prober: str, lbs: Iterable[Stranded]) -> list[Stranded] | None:
    """Those of ``lbs`` (all on one network) none of whose addresses answer, as seen from agent
    ``prober``; None when the probe failed (no evidence either way)."""
    group = list(lbs)
    if not group:
        return []
    addresses = sorted({a for lb in group for a in lb.addresses})
    try:
        heard = probe.answering(prober, group[0].network_id, group[0].network_name, addresses)
    except Exception as exc:
        LOG.warning("cannot probe %d addresses from %s: %s", len(addresses), prober, exc)
        return None
    if heard is None:
        return None
    return [lb for lb in group if not heard.intersection(lb.addresses)]


def mark_unreachable(session: Session, lb_id: str, from_agent: str) -> bool:
    """``operating_status`` ERROR for ``lb_id``, silent on a dead agent with nowhere to go (its
    agent reporting again recomputes it: :func:`lbaas.services.agents.report_state`); whether it
    changed."""
    result = session.execute(
        update(models.LoadBalancer)
        .where(models.LoadBalancer.id == lb_id, models.LoadBalancer.agent_id == from_agent,
               models.LoadBalancer.operating_status != Operating.ERROR)
        .values(operating_status=Operating.ERROR)
        .execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_copy_lost(session: Session, amphora_id: str, from_agent: str) -> bool:
    """Copy ``amphora_id``, silent on a dead agent with nowhere to go, is ERROR (its pair
    DEGRADED) until its agent reports again; whether it changed."""
    amphora = session.get(models.Amphora, amphora_id, with_for_update=True)
    if amphora is None or amphora.agent_id != from_agent:
        return False
    changed = amphora.status != AmphoraStatus.ERROR
    amphora.status, amphora.role = AmphoraStatus.ERROR, None
    _recompute(session, amphora.load_balancer)
    return changed


def move_copy(session: Session, conf: cfg.ConfigOpts, amphora_id: str, from_agent: str
              ) -> models.Agent | None:
    """Rebind copy ``amphora_id`` from dead agent ``from_agent`` to the least loaded live agent
    that may host its load balancer and does not run its other copy (compare-and-set on its
    agent). The copy is rebuilt from the current tree (PENDING_CREATE, the load balancer stays
    ACTIVE and DEGRADED until it reports); the new agent, or None."""
    amphora = session.get(models.Amphora, amphora_id, with_for_update=True,
                          populate_existing=True)
    if amphora is None or amphora.agent_id != from_agent:
        return None
    lb = amphora.load_balancer
    taken = {a.agent_id for a in lb.amphorae}
    candidates = [a for a in agents.agents_for(session, conf, lb) if a.id not in taken]
    if not candidates:
        return None
    amphora.agent_id = candidates[0].id
    amphora.status, amphora.role = AmphoraStatus.PENDING_CREATE, None
    _recompute(session, lb)
    return candidates[0]


def _recompute(session: Session, lb: models.LoadBalancer) -> None:
    session.flush()
    statuses.apply_operating(lb, operating.rollup(lb, statuses.known_health(lb)))


def move(session: Session, conf: cfg.ConfigOpts, lb_id: str, from_agent: str
         ) -> models.Agent | None:
    """Rebind ``lb_id`` from ``from_agent`` to the least loaded live agent that may host it
    (compare-and-set on its agent and status); the new agent, or None when none may host it or
    another server moved it first."""
    lb = session.get(models.LoadBalancer, lb_id, populate_existing=True)
    if lb is None or lb.agent_id != from_agent:
        return None
    candidates = agents.agents_for(session, conf, lb, exclude=from_agent)
    if not candidates:
        return None
    target = candidates[0]
    now = models.utcnow()
    values: dict[str, object] = {"agent_id": target.id, "operating_status": Operating.ERROR,
                                 "updated_at": now}
    if lb.provisioning_status in REBUILT_FROM:
        values.update(provisioning_status=Provisioning.PENDING_UPDATE, status_changed_at=now,
                      revision=models.LoadBalancer.revision + 1)
    result = session.execute(
        update(models.LoadBalancer)
        .where(models.LoadBalancer.id == lb_id, models.LoadBalancer.agent_id == from_agent,
               models.LoadBalancer.provisioning_status == lb.provisioning_status)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return target


class Rescheduler:
    """One pass over the load balancers of dead agents (see the module's rule)."""

    def __init__(self, conf: cfg.ConfigOpts, sessions: sessionmaker[Session],
                 probe: AddressProbe | None) -> None:
        self._conf = conf
        self._sessions = sessions
        self._probe = probe
        self._held: set[str] = set()  # held back at the last pass (logged once)

    def run_once(self) -> list[Stranded]:
        """Move what may move; returns the load balancers moved (to tell their provider)."""
        with read_session(self._sessions) as session:
            found = stranded(session, self._conf)
            by_network: dict[str, list[Stranded]] = defaultdict(list)
            for lb in found:
                by_network[lb.network_id].append(lb)
            probers = {net: prober_for(session, self._conf, net) for net in by_network}
            hosts = {net: agent.host for net, agent in probers.items() if agent is not None}
        if not found or self._probe is None:
            self._held.clear()
            return []
        movable: list[Stranded] = []
        held: set[str] = set()
        for network_id, group in by_network.items():
            host = hosts.get(network_id)
            quiet = silent(self._probe, host, group) if host else None
            if quiet is None:
                held.update(lb.id for lb in group)
                continue
            movable.extend(quiet)
            held.update(lb.id for lb in group if lb not in quiet)
        for lb_id in sorted(held - self._held):
            LOG.warning("agent of load balancer %s is dead, but its VIP still answers or "
                        "cannot be probed: it stays where it is", lb_id)
        self._held = held
        moved = []
        for lb in movable:
            with write_session(self._sessions) as session:
                if lb.amphora_id is not None:
                    if not self._move_copy(session, lb):
                        continue
                else:
                    target = move(session, self._conf, lb.id, lb.agent_id)
                    if target is None:
                        if mark_unreachable(session, lb.id, lb.agent_id):
                            LOG.error("agent of load balancer %s is dead and its VIP is "
                                      "silent, but no live agent may host it: it serves "
                                      "nothing", lb.id)
                        continue
                    LOG.warning("agent of load balancer %s is dead and its VIP is silent: "
                                "rebuilding it on %s", lb.id, target.host)
            moved.append(lb)
        return moved

    def _move_copy(self, session: Session, lost: Stranded) -> bool:
        assert lost.amphora_id is not None
        target = move_copy(session, self._conf, lost.amphora_id, lost.agent_id)
        if target is None:
            if mark_copy_lost(session, lost.amphora_id, lost.agent_id):
                LOG.error("copy %s of load balancer %s is lost (dead agent, silent VRRP "
                          "address) and no other live agent may host it: the pair runs on "
                          "one copy", lost.amphora_id, lost.id)
            return False
        LOG.warning("copy %s of load balancer %s is lost (dead agent, silent VRRP address): "
                    "rebuilding it on %s", lost.amphora_id, lost.id, target.host)
        return True
