"""The haproxy provider: load balancers built by agents running HAProxy in network namespaces.

At create the load balancer is scheduled to the least-loaded live agent that maps its VIP
network (among the agents of its availability zone's ``agents_zone``, if it is in one); every
later change is cast to that agent, which rebuilds the whole load balancer and
reports back through the plugin RPC endpoints. A failover rebuilds it on another live agent;
housekeeping moves it off a dead agent once its VIP is silent (:mod:`lbaas.services.rescheduling`),
asking agents to probe through :meth:`HaproxyProvider.answering`.
"""

from __future__ import annotations

import logging

from oslo_config import cfg
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.amphora import AmphoraStatus
from lbaas.core.context import RequestContext
from lbaas.core.errors import Conflict, ServiceUnavailable
from lbaas.core.kinds import (
    FAILOVER,
    HEALTH_MONITOR,
    LISTENER,
    LOADBALANCER,
    MEMBER,
    POOL,
    Kind,
)
from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.providers.base import Change, ProviderDriver
from lbaas.rpc.agent_api import AgentApi
from lbaas.services import agents, copies, rescheduling, tree
from lbaas.services.availability_zones import AGENTS_ZONE, VALID_VIP_NETWORKS
from lbaas.services.capabilities import (
    NOT_APPLIED,
    Limit,
    ZoneKey,
    at_least,
    list_key,
    one_of,
    text_key,
)
from lbaas.services.statuses import StatusCallbacks

LOG = logging.getLogger(__name__)

LIMITS: dict[tuple[Kind, str], Limit] = {
    (LOADBALANCER, "topology"): one_of("SINGLE", "ACTIVE_STANDBY"),
    (LOADBALANCER, "vip_qos_policy_id"): NOT_APPLIED,
    (LISTENER, "protocol"): one_of("HTTP", "HTTPS", "TCP", "TERMINATED_HTTPS", "PROMETHEUS"),
    (POOL, "protocol"): one_of("HTTP", "HTTPS", "TCP", "PROXY", "PROXYV2"),
    (POOL, "session_persistence.persistence_granularity"): NOT_APPLIED,
    (HEALTH_MONITOR, "type"): one_of("HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO"),
    (HEALTH_MONITOR, "delay"): at_least(1, " second"),
    (HEALTH_MONITOR, "timeout"): at_least(1, " second"),
}
"""What HAProxy in a namespace does not build (yet): UDP and SCTP, QoS. Everything not listed is
rendered into haproxy.cfg."""


ZONE_KEYS: dict[str, ZoneKey] = {
    AGENTS_ZONE: text_key("Only agents whose [agent] availability_zone is this host the zone's "
                          "load balancers."),
    VALID_VIP_NETWORKS: list_key("The ids of the networks a VIP in the zone may be on."),
}
"""What an availability zone is to agents: a group of them (by their configured zone), and the
VIP networks allowed in it."""


class HaproxyProvider(ProviderDriver):
    name = "haproxy"
    description = "HAProxy in a network namespace per load balancer, on lbaas agents."
    limits = LIMITS
    zone_keys = ZONE_KEYS

    def __init__(self, status: StatusCallbacks, conf: cfg.ConfigOpts,
                 sessions: sessionmaker[Session], agent_api: AgentApi) -> None:
        super().__init__(status)
        self._conf = conf
        self._sessions = sessions
        self._agents = agent_api
        self._released: dict[str, str] = {}  # lb id -> host of the agent a failover left

    def schedule(self, session: Session, lb: models.LoadBalancer) -> None:
        if copies.is_pair(lb):
            copies.check_pair_placeable(session, self._conf, lb)  # 503 before anything is made
            lb.agent_id = None
            return
        agents.schedule(session, self._conf, lb)

    def place_copies(self, session: Session, lb: models.LoadBalancer) -> None:
        if copies.is_pair(lb):
            copies.place_pair(session, self._conf, lb)

    def place_failover(self, session: Session, lb: models.LoadBalancer) -> None:
        """Move ``lb`` to the least loaded other live agent that may host it, if there is one
        (else it is rebuilt where it is). Its old agent, if alive, is told to remove its copy
        (:meth:`refresh`). Off a dead agent only when the VIP is silent
        (:mod:`lbaas.services.rescheduling`): 409 otherwise; 503 when no other agent may host
        it.

        A pair stays where it is: its failover is a planned switch, the copy holding the VIP
        hands it to the other one (its agent restarts its keepalived: the other copy takes
        over at once, established connections finish on the old haproxy)."""
        if copies.is_pair(lb):
            down = self._conf.housekeeping.agent_down_time
            running = [a.agent_id for a in lb.amphorae if a.agent_id]
            found = (session.get(models.Agent, agent_id) for agent_id in running)
            if sum(1 for agent in found if agent and agents.is_alive(agent, down)) < 2:
                raise Conflict(f"Load Balancer {lb.id}: a planned switch needs both copies "
                               "running; one is being rebuilt. Fail over the lost copy "
                               "(amphora failover) or wait until the pair is whole.")
            return
        old = session.get(models.Agent, lb.agent_id) if lb.agent_id else None
        candidates = agents.agents_for(session, self._conf, lb, exclude=lb.agent_id)
        alive = old is not None and agents.is_alive(old, self._conf.housekeeping.agent_down_time)
        if not candidates:
            if alive:
                return
            raise ServiceUnavailable(f"Load Balancer {lb.id} has no live agent to fail over "
                                     "to; try again when one is running.")
        if old is not None and not alive:
            quiet = rescheduling.silent(self, candidates[0].host,
                                        [rescheduling.describe(session, lb)])
            if not quiet:
                raise Conflict(f"Load Balancer {lb.id}: its agent on {old.host} is not "
                               "reporting, but its VIP still answers (or cannot be probed); a "
                               "failover now would put the address on the wire twice. Try "
                               "again when that node is down or its agent reports again.")
        if old is not None:
            self._released[lb.id] = old.host
        lb.agent_id = candidates[0].id

    def place_amphora_failover(self, session: Session, lb: models.LoadBalancer,
                               amphora: models.Amphora) -> None:
        """Rebuild one copy of a pair on the least loaded live agent that runs neither copy
        (else where it is, if its agent lives). Off a dead agent only when the copy's VRRP
        address is silent: 409 otherwise; 503 when no live agent may host it."""
        if not copies.is_pair(lb):
            self.place_failover(session, lb)
            return
        old = session.get(models.Agent, amphora.agent_id) if amphora.agent_id else None
        alive = old is not None and agents.is_alive(old, self._conf.housekeeping.agent_down_time)
        taken = {a.agent_id for a in lb.amphorae if a.agent_id}
        candidates = [a for a in agents.agents_for(session, self._conf, lb)
                      if a.id not in taken]
        if not candidates:
            if alive:
                amphora.status = AmphoraStatus.PENDING_CREATE
                return
            raise ServiceUnavailable(f"Amphora {amphora.id} has no live agent to fail over to; "
                                     "try again when one is running.")
        if old is not None and not alive:
            quiet = rescheduling.silent(self, candidates[0].host,
                                        [rescheduling.describe_copy(session, lb, amphora)])
            if not quiet:
                raise Conflict(f"Amphora {amphora.id}: its agent on {old.host} is not "
                               "reporting, but its VRRP address still answers (or cannot be "
                               "probed); try again when that node is down or its agent "
                               "reports again.")
        if old is not None:
            self._released[lb.id] = old.host
        amphora.agent_id = candidates[0].id
        amphora.status = AmphoraStatus.PENDING_CREATE
        amphora.role = None

    def refresh(self, ctx: RequestContext, change: Change) -> None:
        with read_session(self._sessions) as session:
            hosts = self._hosts(session, change.lb_id)
            delta = (tree.member_change(session, change.lb_id, change.obj_id)
                     if hosts and change.kind is MEMBER else None)
        if change.action == FAILOVER:
            released = self._released.pop(change.lb_id, None)
            if released is not None and released not in hosts:
                # The old agent fetches the tree, sees another host named, removes its copy.
                self._agents.cast(released, change.method, change.obj_id, change.lb_id,
                                  ctx.request_id)
        if not hosts:
            LOG.warning("load balancer %s has no agent; housekeeping will reschedule it",
                        change.lb_id, extra={"request_id": ctx.request_id})
            return
        for host in hosts:
            self._agents.cast(host, change.method, change.obj_id, change.lb_id, ctx.request_id,
                              member_change=delta)

    @staticmethod
    def _hosts(session: Session, lb_id: str) -> list[str]:
        """The hosts of the agents running ``lb_id`` (both copies' of a pair). Read by columns:
        loading the load balancer would load its whole tree, on every change's path."""
        placed = session.scalars(select(models.LoadBalancer.agent_id)
                                 .where(models.LoadBalancer.id == lb_id)).first()
        copy_agents = session.scalars(select(models.Amphora.agent_id)
                                      .where(models.Amphora.load_balancer_id == lb_id)
                                      .order_by(models.Amphora.position)).all()
        agent_ids = [a for a in (copy_agents or [placed]) if a]
        if not agent_ids:
            return []
        hosts = {agent_id: host for agent_id, host in session.execute(
            select(models.Agent.id, models.Agent.host).where(models.Agent.id.in_(agent_ids)))}
        return [hosts[agent_id] for agent_id in agent_ids if agent_id in hosts]

    def answering(self, host: str, network_id: str, network_name: str | None,
                  addresses: list[str]) -> set[str] | None:
        """Which of ``addresses`` answer on the network, asked of the agent on ``host``
        (:class:`lbaas.services.rescheduling.AddressProbe`)."""
        heard = self._agents.probe_addresses(host, network_id, network_name, addresses)
        return None if heard is None else set(heard)

