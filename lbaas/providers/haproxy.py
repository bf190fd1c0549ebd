"""The haproxy provider: load balancers built by agents running HAProxy in network namespaces.

At create the load balancer is scheduled to the least-loaded live agent that maps its VIP
network; every later change is cast to that agent, which rebuilds the whole load balancer and
reports back through the plugin RPC endpoints.
"""

from __future__ import annotations

import logging
from typing import Any

from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.context import RequestContext
from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.providers.base import Change, ProviderDriver
from lbaas.rpc.agent_api import AgentApi
from lbaas.services import agents
from lbaas.services.statuses import StatusCallbacks

LOG = logging.getLogger(__name__)
SUPPORTED_LISTENERS = ("HTTP", "HTTPS", "TCP")
SUPPORTED_POOLS = ("HTTP", "HTTPS", "TCP", "PROXY", "PROXYV2")
SUPPORTED_MONITORS = ("HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO")


class HaproxyProvider(ProviderDriver):
    name = "haproxy"
    description = "HAProxy in a network namespace per load balancer, on lbaas agents."

    def __init__(self, status: StatusCallbacks, conf: cfg.ConfigOpts,
                 sessions: sessionmaker[Session], agent_api: AgentApi) -> None:
        super().__init__(status)
        self._conf = conf
        self._sessions = sessions
        self._agents = agent_api

    def schedule(self, session: Session, lb: models.LoadBalancer) -> None:
        agents.schedule(session, self._conf, lb)

    def unsupported_options(self, request: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        listeners = request.get("listeners") or []
        if "protocol" in request and "protocol_port" in request:
            listeners = [request]
        for li in listeners:
            if li.get("protocol") not in SUPPORTED_LISTENERS:
                problems.append(f"listener protocol {li.get('protocol')} (supported: "
                                f"{', '.join(SUPPORTED_LISTENERS)})")
        for pool in _pools(request):
            if pool.get("protocol") not in SUPPORTED_POOLS:
                problems.append(f"pool protocol {pool.get('protocol')}")
            hm = pool.get("healthmonitor") or {}
            if hm and hm.get("type") not in SUPPORTED_MONITORS:
                problems.append(f"health monitor type {hm.get('type')}")
        if request.get("type") and request.get("pool_id") and \
                request["type"] not in SUPPORTED_MONITORS:
            problems.append(f"health monitor type {request['type']}")
        return problems

    def refresh(self, ctx: RequestContext, change: Change) -> None:
        with read_session(self._sessions) as session:
            lb = session.get(models.LoadBalancer, change.lb_id)
            agent = session.get(models.Agent, lb.agent_id) if lb and lb.agent_id else None
            host = agent.host if agent else None
        if host is None:
            LOG.warning("load balancer %s has no agent; housekeeping will reschedule it",
                        change.lb_id, extra={"request_id": ctx.request_id})
            return
        self._agents.cast(host, change.method, change.obj_id, change.lb_id, ctx.request_id)


def _pools(request: dict[str, Any]) -> list[dict[str, Any]]:
    pools = list(request.get("pools") or [])
    for li in request.get("listeners") or []:
        if isinstance(li.get("default_pool"), dict) and "protocol" in li["default_pool"]:
            pools.append(li["default_pool"])
        for policy in li.get("l7policies") or []:
            if policy.get("redirect_pool"):
                pools.append(policy["redirect_pool"])
    if "lb_algorithm" in request:
        pools.append(request)
    return pools
