"""The dashboard's HTTP side, added by ``create_app`` (``lbaas/api/app.py``):

- ``GET /dashboard/`` the page (``static/index.html``) and ``/dashboard/static/...`` its assets,
  with headers that keep it to its own origin: a Content-Security-Policy allowing only the
  page's own scripts, styles and API, no framing, no referrer, no sniffing;
- ``GET /dashboard/api/config`` (no sign-in) what the sign-in form needs: the auth strategy;
- ``GET /dashboard/api/session`` who the token belongs to and what the policy lets it do, so the
  page offers only what the API will accept (the API still decides every call);
- ``POST /dashboard/api/login`` Keystone password sign-in (``keystone_login.py``).

Every other call the page makes goes to the Octavia v2 API itself, with the caller's token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from lbaas import __version__
from lbaas.api.dashboard.keystone_login import Credentials, password_login
from lbaas.api.deps import ContextDep, ServicesDep
from lbaas.api.responses import JSONBody, ok
from lbaas.core.errors import InvalidInput

STATIC = Path(__file__).parent / "static"
PREFIX = "/dashboard"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

NO_STORE = {"Cache-Control": "no-store"}

# What the page may offer, as (label, policy resource, action): the API enforces the same rules.
ABILITIES = {
    "create_loadbalancer": ("loadbalancer", "post"),
    "update_loadbalancer": ("loadbalancer", "put"),
    "delete_loadbalancer": ("loadbalancer", "delete"),
    "failover_loadbalancer": ("loadbalancer", "put_failover"),
    "manage_agents": ("agent", "put"),
    "manage_quotas": ("quota", "put"),
    "manage_flavors": ("flavor", "post"),
    "manage_networks": ("network", "post"),
}

router = APIRouter(tags=["dashboard"])


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=4096, repr=False)
    project_name: str = Field(min_length=1, max_length=64)
    user_domain_name: str = Field(default="Default", min_length=1, max_length=255)
    project_domain_name: str = Field(default="Default", min_length=1, max_length=255)


@router.get(PREFIX, include_in_schema=False)
def dashboard_root() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


@router.get(f"{PREFIX}/", include_in_schema=False)
def dashboard_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html",
                        headers=SECURITY_HEADERS)


@router.get(f"{PREFIX}/api/config")
def dashboard_config(services: ServicesDep) -> JSONBody:
    """What the sign-in form offers: a token always, Keystone credentials with Keystone."""
    strategy = services.conf.api.auth_strategy
    return ok({"auth_strategy": strategy, "keystone_sign_in": strategy == "keystone",
               "version": __version__})


@router.get(f"{PREFIX}/api/session")
def dashboard_session(services: ServicesDep, ctx: ContextDep) -> JSONBody:
    """The caller as the API sees it: project, roles, and what policy allows it."""
    policy = services.policy
    can = {name: policy.allows(ctx, resource, action)
           for name, (resource, action) in ABILITIES.items()}
    return JSONBody({"project_id": ctx.project_id, "roles": list(ctx.roles),
                     "user": ctx.user_name, "is_admin": ctx.is_admin, "can": can},
                    headers=NO_STORE)


@router.post(f"{PREFIX}/api/login")
async def dashboard_login(body: LoginBody, services: ServicesDep) -> JSONBody:
    """A Keystone token for the page (``[api] auth_strategy = keystone`` only)."""
    if services.conf.api.auth_strategy != "keystone":
        raise InvalidInput("This server does not use Keystone: sign in with an lbaas token "
                           "(lbaas token create).")
    signed = await run_in_threadpool(password_login, services.conf, Credentials(
        body.username, body.password, body.project_name, body.user_domain_name,
        body.project_domain_name))
    return JSONBody({"token": signed.token, "expires_at": signed.expires_at,
                     "project_id": signed.project_id, "project_name": signed.project_name,
                     "roles": list(signed.roles)}, headers=NO_STORE)


class _SecuredStatic:
    """The page's assets with :data:`SECURITY_HEADERS` added to every answer."""

    def __init__(self) -> None:
        self._files = StaticFiles(directory=STATIC, follow_symlink=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers.extend((k.lower().encode(), v.encode())
                               for k, v in SECURITY_HEADERS.items())
                message = {**message, "headers": headers}
            await send(message)

        await self._files(scope, receive, send_secured)


def install_dashboard(app: FastAPI, add_routes: Any) -> None:
    """Add the dashboard's routes (with ``add_routes``, as the API's) and mount its assets."""
    add_routes(app, router)
    app.mount(f"{PREFIX}/static", _SecuredStatic(), name="dashboard-static")
