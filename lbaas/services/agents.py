"""Agents: heartbeats, liveness, scheduling load balancers onto them, and what each hosts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from oslo_config import cfg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lbaas.core.errors import ServiceUnavailable
from lbaas.db import models


def report_state(session: Session, state: dict[str, Any]) -> models.Agent:
    """Record a heartbeat, registering the agent the first time it reports."""
    host = str(state["host"])
    agent = session.scalars(select(models.Agent).where(models.Agent.host == host)).first()
    now = models.utcnow()
    if agent is None:
        agent = models.Agent(id=models.new_id(), host=host, started_at=now, created_at=now)
        session.add(agent)
    if state.get("start_flag"):
        agent.started_at = now
    agent.binary = str(state.get("binary", agent.binary or "lbaas-agent"))
    agent.topic = str(state.get("topic", agent.topic or "lbaas_agent"))
    agent.configurations = dict(state.get("configurations") or {})
    agent.heartbeat_timestamp = now
    return agent


def is_alive(agent: models.Agent, down_time: int) -> bool:
    return agent.heartbeat_timestamp >= models.utcnow() - dt.timedelta(seconds=down_time)


def _maps_network(agent: models.Agent, network: models.Network | None) -> bool:
    if network is None:
        return False
    mappings = agent.configurations.get("bridge_mappings") or {}
    return network.id in mappings or bool(network.name and network.name in mappings)


def hosted_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(models.LoadBalancer.agent_id, func.count())
                           .where(models.LoadBalancer.agent_id.is_not(None))
                           .group_by(models.LoadBalancer.agent_id))
    return {str(agent_id): int(n) for agent_id, n in rows}


def eligible_agents(session: Session, conf: cfg.ConfigOpts, network_id: str | None,
                    exclude: str | None = None) -> list[models.Agent]:
    """Live, enabled agents that can reach ``network_id``, least loaded first."""
    network = session.get(models.Network, network_id) if network_id else None
    agents = [a for a in session.scalars(select(models.Agent))
              if a.admin_state_up and a.id != exclude
              and is_alive(a, conf.housekeeping.agent_down_time) and _maps_network(a, network)]
    load = hosted_counts(session)
    return sorted(agents, key=lambda a: (load.get(a.id, 0), a.host))


def schedule(session: Session, conf: cfg.ConfigOpts, lb: models.LoadBalancer) -> models.Agent:
    """Bind ``lb`` to the least-loaded eligible agent (503 when there is none)."""
    agents = eligible_agents(session, conf, lb.vip_network_id)
    if not agents:
        raise ServiceUnavailable(f"No live load balancer agent can reach network "
                                 f"{lb.vip_network_id}; try again when one is running.")
    lb.agent_id = agents[0].id
    return agents[0]


def agent_view(agent: models.Agent, conf: cfg.ConfigOpts, hosted: int) -> dict[str, Any]:
    return {"id": agent.id, "host": agent.host, "agent_type": agent.agent_type,
            "binary": agent.binary, "topic": agent.topic,
            "alive": is_alive(agent, conf.housekeeping.agent_down_time),
            "admin_state_up": agent.admin_state_up,
            "configurations": {**agent.configurations, "load_balancers": hosted},
            "created_at": agent.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "started_at": agent.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            "heartbeat_timestamp": agent.heartbeat_timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            "description": None}
