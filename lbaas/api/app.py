"""The API application factory: builds engine, policy, providers and routes from configuration."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import oslo_messaging as messaging
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from oslo_config import cfg

from lbaas import __version__
from lbaas.api.auth import make_authenticator
from lbaas.api.dashboard.routes import install_dashboard
from lbaas.api.deps import AppServices, Background
from lbaas.api.errors import install_error_handlers
from lbaas.api.key_manager import KeyManagerDispatch, create_key_manager_app, elsewhere_app
from lbaas.api.middleware import RequestObservability
from lbaas.api.openapi import install_openapi
from lbaas.api.policy import Policy
from lbaas.api.routes import (
    agents,
    amphorae,
    availability_zones,
    flavors,
    healthmonitors,
    l7policies,
    listeners,
    loadbalancers,
    members,
    networks,
    pools,
    quotas,
    root,
)
from lbaas.config import database_url
from lbaas.core.scrape_token import configured_token
from lbaas.db.engine import make_engine, make_session_factory
from lbaas.db.migrate import upgrade
from lbaas.observability.metrics import ApiMetrics
from lbaas.providers.haproxy import HaproxyProvider
from lbaas.providers.noop import NoopProvider
from lbaas.providers.registry import ProviderRegistry
from lbaas.rpc.agent_api import AgentApi
from lbaas.rpc.server_endpoints import PluginEndpoints
from lbaas.rpc.topics import PLUGIN_TOPIC
from lbaas.rpc.transport import ServerTask, make_server, make_transport
from lbaas.services.housekeeping import Housekeeper
from lbaas.services.secret_source import make_secret_source, uses_barbican
from lbaas.services.statuses import StatusCallbacks

LBAAS_ROUTERS = (loadbalancers.router, listeners.router, pools.router, members.router,
                 healthmonitors.router, l7policies.router, quotas.router, flavors.router,
                 availability_zones.router)
OCTAVIA_ROUTERS = (amphorae.router,)
"""Octavia's operator API under /v2/octavia (amphorae)."""


def build_services(conf: cfg.ConfigOpts, migrate: bool = True,
                   transport: messaging.RPCTransport | None = None) -> AppServices:
    """Everything the API needs, wired once. ``transport`` is shared with an in-process agent
    in the all-in-one; otherwise it is built from ``[DEFAULT] transport_url``.

    Raises ``KeyFileError`` (``lbaas/services/secret_cipher.py``) when the secret store's key
    file is missing or unsafe, ``SecretBackendError`` (``lbaas/services/secret_source.py``)
    for ``[key_manager] backend = barbican`` without Keystone authentication: the server does
    not start without them; ``ScrapeTokenError`` (``lbaas/core/scrape_token.py``) likewise for
    an unusable ``[metrics] token_file``."""
    scrape_token = configured_token(conf.metrics.token_file)
    secrets = make_secret_source(conf)
    engine = make_engine(database_url(conf), conf.database.pool_size)
    if migrate:
        upgrade(engine)
    sessions = make_session_factory(engine)
    status = StatusCallbacks(sessions)
    registry = ProviderRegistry(conf.api.default_provider)
    background: list[Background] = []
    if "noop" in conf.api.enabled_providers:
        registry.add(NoopProvider(status, conf.noop_provider.completion_delay))
    probe: HaproxyProvider | None = None
    if "haproxy" in conf.api.enabled_providers:
        transport = transport or make_transport(conf)
        probe = HaproxyProvider(status, conf, sessions, AgentApi(transport))
        registry.add(probe)
        endpoints = PluginEndpoints(conf, sessions, status, secrets)
        background.append(ServerTask(make_server(
            transport, PLUGIN_TOPIC, conf.host or socket.gethostname(), [endpoints])))
    background.append(Housekeeper(conf, sessions, registry, status, probe))
    return AppServices(conf=conf, engine=engine, sessions=sessions, policy=Policy(conf),
                       providers=registry, authenticator=make_authenticator(conf, sessions),
                       status=status, secrets=secrets, background=background,
                       scrape_token=scrape_token)


def add_routes(app: FastAPI, router: APIRouter, prefix: str = "",
               include_in_schema: bool = True) -> None:
    """Add ``router``'s routes to ``app`` itself, under ``prefix``.

    Used instead of ``include_router``, which keeps each router as a nested route: a request
    would then be matched twice (which router, then which route) across every router, a large
    part of a small request's cost.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"cannot add route {route!r}: not an APIRoute")
        app.add_api_route(
            prefix + route.path, route.endpoint, methods=sorted(route.methods or ()),
            response_model=route.response_model, status_code=route.status_code,
            tags=list(route.tags), summary=route.summary, description=route.description,
            response_description=route.response_description, responses=route.responses,
            deprecated=route.deprecated, operation_id=route.operation_id,
            include_in_schema=include_in_schema and route.include_in_schema,
            response_class=route.response_class, name=route.name,
            dependencies=list(route.dependencies), openapi_extra=route.openapi_extra,
        )


def create_app(conf: cfg.ConfigOpts, services: AppServices | None = None) -> FastAPI:
    """The ASGI application serving the Octavia v2 API."""
    services = services or build_services(conf)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for task in services.background:
            task.start()
        yield
        for task in reversed(services.background):
            task.stop()
        services.providers.shutdown()

    app = FastAPI(title="lbaas", version=__version__, lifespan=lifespan,
                  description="Load Balancing as a Service speaking the Octavia v2 API.")
    app.state.services = services
    app.state.metrics = ApiMetrics(services.sessions, conf.housekeeping.agent_down_time)
    install_error_handlers(app)
    install_openapi(app)
    # The router tries routes in order: the few root ones (health checks), then the busiest.
    add_routes(app, root.router)
    for router in LBAAS_ROUTERS:
        add_routes(app, router, prefix="/v2/lbaas")
    for router in LBAAS_ROUTERS:
        add_routes(app, router, prefix="/v2.0/lbaas", include_in_schema=False)
    for router in OCTAVIA_ROUTERS:
        add_routes(app, router, prefix="/v2/octavia")
        add_routes(app, router, prefix="/v2.0/octavia", include_in_schema=False)
    add_routes(app, networks.router, prefix="/v2.0")
    add_routes(app, networks.router, prefix="/v2", include_in_schema=False)
    add_routes(app, agents.router)
    if conf.api.dashboard:
        install_dashboard(app, add_routes)
    # The secret store under /key-manager: Barbican's wire format and error bodies; with a real
    # Barbican, a 404 there saying so.
    key_manager = (elsewhere_app() if uses_barbican(conf) else create_key_manager_app(services))
    app.add_middleware(KeyManagerDispatch, key_manager=key_manager)
    app.add_middleware(RequestObservability, metrics=app.state.metrics)
    return app
