"""Agents and scheduling queries: ``/v2.0/agents``, which load balancers an agent hosts, and
which agent hosts a load balancer (neutron-lbaas's agent-scheduler extension)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.responses import JSONBody, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.db.engine import read_session, write_session
from lbaas.schemas.agent import AgentUpdateEnvelope
from lbaas.services import agents

router = APIRouter(tags=["agents"])


@router.get("/v2.0/agents")
def list_agents(
    services: ServicesDep, ctx: Annotated[RequestContext, Authorized("agent", "get_all")]
) -> JSONBody:
    with read_session(services.sessions) as session:
        items = agents.list_agents(session, services.conf)
    return ok({"agents": items})


@router.get("/v2.0/agents/{agent_id}")
def show_agent(
    agent_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("agent", "get_one")],
) -> JSONBody:
    with read_session(services.sessions) as session:
        out = agents.show_agent(session, services.conf, agent_id)
    return ok({"agent": out})


@router.put("/v2.0/agents/{agent_id}")
def update_agent(
    agent_id: str,
    body: AgentUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("agent", "put")],
) -> JSONBody:
    with write_session(services.sessions) as session:
        out = agents.update_agent(session, services.conf, agent_id, body.agent)
    return ok({"agent": out})


@router.delete("/v2.0/agents/{agent_id}", status_code=204)
def delete_agent(
    agent_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("agent", "delete")],
) -> Response:
    with write_session(services.sessions) as session:
        agents.delete_agent(session, agent_id)
    return no_content()


@router.get("/v2.0/agents/{agent_id}/agent-loadbalancers")
def agent_loadbalancers(
    agent_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("agent", "get_one")],
) -> JSONBody:
    with read_session(services.sessions) as session:
        items = agents.agent_loadbalancers(session, agent_id)
    return ok({"loadbalancers": items})


@router.get("/v2.0/lbaas/loadbalancers/{lb_id}/loadbalancer-hosting-agent")
@router.get("/v2/lbaas/loadbalancers/{lb_id}/loadbalancer-hosting-agent", include_in_schema=False)
def hosting_agent(
    lb_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized("agent", "get_one")],
) -> JSONBody:
    with read_session(services.sessions) as session:
        out = agents.hosting_agent(session, services.conf, lb_id, ctx.scope_project())
    return ok({"agent": out})
