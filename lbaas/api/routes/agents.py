"""Agents and scheduling queries: ``/v2.0/agents``, which load balancers an agent hosts, and
which agent hosts a load balancer (neutron-lbaas's agent-scheduler extension)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from lbaas.api.deps import ContextDep, ServicesDep
from lbaas.api.responses import JSONBody, no_content, ok
from lbaas.core.errors import Conflict, NotFound
from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.services import agents, views
from lbaas.services.state import get_scoped

router = APIRouter(tags=["agents"])


class AgentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    admin_state_up: bool | None = None
    description: str | None = None


class AgentUpdateEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: AgentUpdate


def _agent(session: Session, agent_id: str) -> models.Agent:
    agent = session.get(models.Agent, agent_id)
    if agent is None:
        raise NotFound("Agent", agent_id)
    return agent


def _view(session: Session, services: Any, agent: models.Agent) -> dict[str, Any]:
    hosted = agents.hosted_counts(session).get(agent.id, 0)
    return agents.agent_view(agent, services.conf, hosted)


@router.get("/v2.0/agents")
def list_agents(services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "agent", "get_all")
    with read_session(services.sessions) as session:
        rows = session.scalars(select(models.Agent).order_by(models.Agent.host))
        return ok({"agents": [_view(session, services, a) for a in rows]})


@router.get("/v2.0/agents/{agent_id}")
def show_agent(agent_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "agent", "get_one")
    with read_session(services.sessions) as session:
        return ok({"agent": _view(session, services, _agent(session, agent_id))})


@router.put("/v2.0/agents/{agent_id}")
def update_agent(agent_id: str, body: AgentUpdateEnvelope, services: ServicesDep,
                 ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "agent", "put")
    with write_session(services.sessions) as session:
        agent = _agent(session, agent_id)
        if body.agent.admin_state_up is not None:
            agent.admin_state_up = body.agent.admin_state_up
        session.flush()
        return ok({"agent": _view(session, services, agent)})


@router.delete("/v2.0/agents/{agent_id}", status_code=204)
def delete_agent(agent_id: str, services: ServicesDep, ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "agent", "delete")
    with write_session(services.sessions) as session:
        agent = _agent(session, agent_id)
        if agents.hosted_counts(session).get(agent.id):
            raise Conflict(f"Agent {agent_id} still hosts load balancers.")
        session.delete(agent)
    return no_content()


@router.get("/v2.0/agents/{agent_id}/agent-loadbalancers")
def agent_loadbalancers(agent_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "agent", "get_one")
    with read_session(services.sessions) as session:
        _agent(session, agent_id)
        lbs = session.scalars(select(models.LoadBalancer)
                              .where(models.LoadBalancer.agent_id == agent_id)
                              .order_by(models.LoadBalancer.created_at))
        return ok({"loadbalancers": [views.loadbalancer_view(lb) for lb in lbs]})


@router.get("/v2.0/lbaas/loadbalancers/{lb_id}/loadbalancer-hosting-agent")
@router.get("/v2/lbaas/loadbalancers/{lb_id}/loadbalancer-hosting-agent",
            include_in_schema=False)
def hosting_agent(lb_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "agent", "get_one")
    with read_session(services.sessions) as session:
        lb = get_scoped(session, models.LoadBalancer, lb_id, ctx.scope_project())
        if lb.agent_id is None:
            return ok({"agent": None})
        return ok({"agent": _view(session, services, _agent(session, lb.agent_id))})
