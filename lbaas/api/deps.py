"""Typed FastAPI dependencies: the application's services and the authenticated caller."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from oslo_config import cfg
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from lbaas.api.auth import Authenticator
from lbaas.api.policy import Policy
from lbaas.core.context import RequestContext
from lbaas.core.kinds import Kind
from lbaas.core.scrape_token import ScrapeToken
from lbaas.observability.logging import current_request_id
from lbaas.providers.registry import ProviderRegistry
from lbaas.services.statuses import StatusCallbacks
from lbaas.services.tls import SecretSource
from lbaas.services.work import Work, unit_of_work


@dataclass
class AppServices:
    """Everything a request handler may use, built once by ``create_app``."""

    conf: cfg.ConfigOpts
    engine: Engine
    sessions: sessionmaker[Session]
    policy: Policy
    providers: ProviderRegistry
    authenticator: Authenticator
    status: StatusCallbacks
    secrets: SecretSource
    """The TLS secrets' backend: the built-in store (``SecretStore``, which the /key-manager
    API also serves) or a real Barbican (``BarbicanSecrets``)."""
    background: list[Background] = field(default_factory=list)
    scrape_token: ScrapeToken | None = None
    """``[metrics] token_file``'s token, read at start; None when the option is empty."""

    def unit_of_work(self, ctx: RequestContext) -> AbstractContextManager[Work]:
        """One write transaction for ``ctx``'s request, its provider calls after commit
        (:func:`lbaas.services.work.unit_of_work`), reading TLS secrets as ``ctx``'s caller."""
        return unit_of_work(self.sessions, self.providers, ctx, self.secrets.for_request(ctx))


class Background(Protocol):
    """Something the server runs beside the API (RPC server, housekeeping)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


async def get_services(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


ServicesDep = Annotated[AppServices, Depends(get_services)]


async def get_context(request: Request) -> RequestContext:
    """The authenticated caller (401 without valid credentials).

    The authenticator ``[api] auth_strategy`` chose reads the request's headers itself (cheaper
    than FastAPI header parameters). Async so that the common case (a token verified moments
    ago) costs no thread hand-off; otherwise it runs on the thread pool (a database query, or a
    call to Keystone)."""
    auth = request.app.state.services.authenticator
    headers = request.headers
    identity = auth.cached(headers)
    if identity is None:
        identity = await run_in_threadpool(auth.authenticate, headers, request.method,
                                           request.url.path)
    return RequestContext(project_id=identity.project_id, roles=identity.roles,
                          user_name=identity.token_name, request_id=current_request_id(),
                          user_id=identity.user_id, auth_token=identity.keystone_token)


ContextDep = Annotated[RequestContext, Depends(get_context)]


def Authorized(kind: Kind | str, action: str) -> Any:
    """The dependency of a route that ``action`` on ``kind`` guards: the authenticated caller
    (401 without credentials), once policy allows it (403 otherwise).

    ``ctx: Annotated[RequestContext, Authorized(POOL, "get_one")]``; ``kind`` is a registry
    kind or, for resources outside a load balancer's tree, the policy resource name."""
    resource = kind.policy if isinstance(kind, Kind) else kind

    async def authorized(request: Request) -> RequestContext:
        ctx = await get_context(request)
        request.app.state.services.policy.authorize(ctx, resource, action)
        return ctx

    return Depends(authorized)
