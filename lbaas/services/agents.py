"""Agents: heartbeats, liveness, scheduling load balancers onto them, and what each hosts.

The RPC endpoints record heartbeats, the haproxy provider schedules load balancers, housekeeping
checks liveness, and the ``/v2.0/agents`` routes call the list, show, update and delete
functions at the end.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from oslo_config import cfg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lbaas.core.amphora import Role
from lbaas.core.errors import Conflict, NotFound, ServiceUnavailable
from lbaas.core.status import Operating
from lbaas.db import models
from lbaas.schemas.agent import AgentUpdate
from lbaas.services import availability_zones, operating, statuses, views
from lbaas.services.state import get_scoped

DEFAULT_ZONE = "nova"
"""The zone of an agent that reports none (neutron's default)."""
BUS_OUTAGE_FACTOR = 10
"""While no agent at all is heard, new load balancers may still go to agents heard within this
many ``agent_down_time``s (a broker restart silences every agent at once)."""


def report_state(session: Session, state: dict[str, Any], down_time: int | None = None
                 ) -> models.Agent:
    """Record a heartbeat, registering the agent the first time it reports. An agent back from
    the dead (silent for ``down_time``) has the operating statuses of its load balancers
    recomputed from what is known of their members (housekeeping may have marked them ERROR
    meanwhile)."""
    host = str(state["host"])
    agent = session.scalars(select(models.Agent).where(models.Agent.host == host)).first()
    now = models.utcnow()
    if agent is not None and down_time is not None and not is_alive(agent, down_time):
        _recompute_operating(session, agent.id)
    if agent is None:
        agent = models.Agent(id=models.new_id(), host=host, started_at=now, created_at=now)
        session.add(agent)
    if state.get("start_flag"):
        agent.started_at = now
    agent.binary = str(state.get("binary", agent.binary or "lbaas-agent"))
    agent.topic = str(state.get("topic", agent.topic or "lbaas_agent"))
    agent.configurations = dict(state.get("configurations") or {})
    agent.availability_zone = str(state.get("availability_zone") or DEFAULT_ZONE)
    agent.heartbeat_timestamp = now
    return agent


def _recompute_operating(session: Session, agent_id: str) -> None:
    lbs = session.scalars(select(models.LoadBalancer)
                          .where(models.LoadBalancer.agent_id == agent_id,
                                 models.LoadBalancer.operating_status == Operating.ERROR))
    for lb in lbs:
        statuses.apply_operating(lb, operating.rollup(lb, statuses.known_health(lb)))


def is_alive(agent: models.Agent, down_time: int) -> bool:
    return agent.heartbeat_timestamp >= models.utcnow() - dt.timedelta(seconds=down_time)


def _maps_network(agent: models.Agent, network: models.Network | None) -> bool:
    if network is None:
        return False
    mappings = agent.configurations.get("bridge_mappings") or {}
    return network.id in mappings or bool(network.name and network.name in mappings)


def hosted_counts(session: Session) -> dict[str, int]:
    """Load balancer copies per agent: SINGLE load balancers and copies of pairs."""
    counts: dict[str, int] = {}
    for column in (models.LoadBalancer.agent_id, models.Amphora.agent_id):
        rows = session.execute(select(column, func.count()).where(column.is_not(None))
                               .group_by(column))
        for agent_id, n in rows:
            counts[str(agent_id)] = counts.get(str(agent_id), 0) + int(n)
    return counts


def hosted_ids(session: Session, agent_id: str) -> list[str]:
    """The load balancers agent ``agent_id`` runs (a copy of), oldest first."""
    paired = select(models.Amphora.load_balancer_id).where(models.Amphora.agent_id == agent_id)
    return list(session.scalars(
        select(models.LoadBalancer.id)
        .where((models.LoadBalancer.agent_id == agent_id) | models.LoadBalancer.id.in_(paired))
        .order_by(models.LoadBalancer.created_at)))


def hosted_revisions(session: Session, agent_id: str) -> dict[str, int]:
    """``{id: revision}`` of the load balancers agent ``agent_id`` runs (a copy of): what a
    light sync compares with what the agent built, without building a tree."""
    paired = select(models.Amphora.load_balancer_id).where(models.Amphora.agent_id == agent_id)
    rows = session.execute(
        select(models.LoadBalancer.id, models.LoadBalancer.revision)
        .where((models.LoadBalancer.agent_id == agent_id) | models.LoadBalancer.id.in_(paired)))
    return {lb_id: revision for lb_id, revision in rows}


def eligible_agents(session: Session, conf: cfg.ConfigOpts, network_id: str | None,
                    exclude: str | None = None, zone: str | None = None,
                    down_time: int | None = None) -> list[models.Agent]:
    """Live, enabled agents that can reach ``network_id`` (and run in agents' zone ``zone``,
    when given), least loaded first; live = heard within ``down_time`` (default
    ``[housekeeping] agent_down_time``)."""
    network = session.get(models.Network, network_id) if network_id else None
    stmt = select(models.Agent)
    if zone is not None:
        stmt = stmt.where(models.Agent.availability_zone == zone)
    window = conf.housekeeping.agent_down_time if down_time is None else down_time
    agents = [a for a in session.scalars(stmt)
              if a.admin_state_up and a.id != exclude
              and is_alive(a, window) and _maps_network(a, network)]
    load = hosted_counts(session)
    return sorted(agents, key=lambda a: (load.get(a.id, 0), a.host))


def agents_for(session: Session, conf: cfg.ConfigOpts, lb: models.LoadBalancer,
               exclude: str | None = None) -> list[models.Agent]:
    """The agents that may host ``lb``: those of its availability zone's agents' zone (any,
    outside a zone) that reach its VIP network, least loaded first."""
    return eligible_agents(session, conf, lb.vip_network_id, exclude,
                           availability_zones.agents_zone(session, lb.availability_zone))


def any_alive(session: Session, conf: cfg.ConfigOpts) -> bool:
    """Whether any agent at all was heard within ``agent_down_time``."""
    down = conf.housekeeping.agent_down_time
    return any(is_alive(a, down) for a in session.scalars(select(models.Agent)))


def schedule(session: Session, conf: cfg.ConfigOpts, lb: models.LoadBalancer) -> models.Agent:
    """Bind ``lb`` to the least-loaded eligible agent (503 when there is none).

    When no agent at all has been heard for ``agent_down_time``, the message bus (or this
    server's link to it) is more likely down than every agent: one heard within
    :data:`BUS_OUTAGE_FACTOR` times that is chosen instead, and gets the load balancer when it
    reaches the server again (an agent syncs in full then). Moving load balancers off agents
    stays strict (:mod:`lbaas.services.rescheduling`)."""
    agents = agents_for(session, conf, lb)
    if not agents and not any_alive(session, conf):
        agents = eligible_agents(
            session, conf, lb.vip_network_id,
            zone=availability_zones.agents_zone(session, lb.availability_zone),
            down_time=conf.housekeeping.agent_down_time * BUS_OUTAGE_FACTOR)
    if not agents:
        zone = (f" in availability zone {lb.availability_zone}"
                if lb.availability_zone else "")
        raise ServiceUnavailable(f"No live load balancer agent{zone} can reach network "
                                 f"{lb.vip_network_id}; try again when one is running.")
    lb.agent_id = agents[0].id
    return agents[0]


def agent_view(agent: models.Agent, conf: cfg.ConfigOpts, hosted: int) -> dict[str, Any]:
    return {"id": agent.id, "host": agent.host, "agent_type": agent.agent_type,
            "binary": agent.binary, "topic": agent.topic,
            "alive": is_alive(agent, conf.housekeeping.agent_down_time),
            "admin_state_up": agent.admin_state_up,
            "availability_zone": agent.availability_zone,
            "configurations": {**agent.configurations, "load_balancers": hosted},
            "created_at": agent.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "started_at": agent.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            "heartbeat_timestamp": agent.heartbeat_timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            "description": None}


def _agent(session: Session, agent_id: str) -> models.Agent:
    agent = session.get(models.Agent, agent_id)
    if agent is None:
        raise NotFound("Agent", agent_id)
    return agent


def _view(session: Session, conf: cfg.ConfigOpts, agent: models.Agent) -> dict[str, Any]:
    return agent_view(agent, conf, hosted_counts(session).get(agent.id, 0))


def list_agents(session: Session, conf: cfg.ConfigOpts) -> list[dict[str, Any]]:
    """Every agent, by host name."""
    rows = session.scalars(select(models.Agent).order_by(models.Agent.host))
    return [_view(session, conf, a) for a in rows]


def show_agent(session: Session, conf: cfg.ConfigOpts, agent_id: str) -> dict[str, Any]:
    return _view(session, conf, _agent(session, agent_id))


def update_agent(session: Session, conf: cfg.ConfigOpts, agent_id: str,
                 data: AgentUpdate) -> dict[str, Any]:
    """Enable or disable scheduling onto an agent (the description is accepted, not kept)."""
    agent = _agent(session, agent_id)
    if data.admin_state_up is not None:
        agent.admin_state_up = data.admin_state_up
    session.flush()
    return _view(session, conf, agent)


def delete_agent(session: Session, agent_id: str) -> None:
    """Forget an agent that hosts no load balancer (409 when it still hosts one)."""
    agent = _agent(session, agent_id)
    if hosted_counts(session).get(agent.id):
        raise Conflict(f"Agent {agent_id} still hosts load balancers.")
    session.delete(agent)


def agent_loadbalancers(session: Session, agent_id: str) -> list[dict[str, Any]]:
    """The load balancers an agent hosts, oldest first (404 for an unknown agent)."""
    _agent(session, agent_id)
    ids = hosted_ids(session, agent_id)
    lbs = session.scalars(select(models.LoadBalancer).where(models.LoadBalancer.id.in_(ids))
                          .order_by(models.LoadBalancer.created_at))
    return [views.loadbalancer_of(lb) for lb in lbs]


def hosting_agent(session: Session, conf: cfg.ConfigOpts, lb_id: str,
                  scope_project: str | None) -> dict[str, Any] | None:
    """The agent hosting load balancer ``lb_id`` (None while unscheduled; for a pair, the agent
    of the copy holding the VIP as last reported); 404 when the caller cannot see the load
    balancer."""
    lb = get_scoped(session, models.LoadBalancer, lb_id, scope_project)
    agent_id = lb.agent_id
    if lb.amphorae:
        masters = [a for a in lb.amphorae if a.role == Role.MASTER and a.agent_id]
        placed = masters or [a for a in lb.amphorae if a.agent_id]
        agent_id = placed[0].agent_id if placed else None
    if agent_id is None:
        return None
    return _view(session, conf, _agent(session, agent_id))
