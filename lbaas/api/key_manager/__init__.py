"""The built-in secret store's HTTP API: the subset of Barbican's v1 that
``openstack secret ...`` (python-barbicanclient) uses, served under ``/key-manager`` by the
same server, authenticator and tokens as the Octavia API.

:func:`create_key_manager_app` builds it as an application of its own, so that every error on
that path root has Barbican's body (``errors.py``) and every answer its microversion header
(``versions.py``); :class:`KeyManagerDispatch`, installed by ``lbaas/api/app.py`` inside the
request observability middleware, hands it the requests under ``/key-manager``. Routes:
``versions.py``, ``secrets.py``, ``containers.py``; access rules: ``access.py``.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from lbaas.api.deps import AppServices
from lbaas.api.key_manager import containers, secrets, versions
from lbaas.api.key_manager.access import ROOT
from lbaas.api.key_manager.errors import install_error_handlers


def create_key_manager_app(services: AppServices) -> FastAPI:
    """The secret store's application (its paths relative to ``/key-manager``)."""
    app = FastAPI(title="lbaas key manager", openapi_url=None, docs_url=None,
                  redoc_url=None, redirect_slashes=False)
    app.state.services = services
    install_error_handlers(app)
    for router in (versions.router, secrets.router, containers.router):
        app.include_router(router)
    app.add_middleware(versions.Microversions)
    return app


ELSEWHERE = ("This lbaas stores no secrets ([key_manager] backend = barbican): store them in "
             "the Barbican of the Keystone catalog (service type key-manager), e.g. with "
             "'openstack secret store', and name their references in listeners and pools.")


def elsewhere_app() -> ASGIApp:
    """What ``/key-manager`` answers when the secrets live in a real Barbican: 404 with
    Barbican's error body, saying where they are."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = {"code": 404, "title": "Not Found", "description": ELSEWHERE}
        await JSONResponse(body, status_code=404)(scope, receive, send)

    return app


class KeyManagerDispatch:
    """Pure ASGI: requests under ``/key-manager`` go to the secret store's application (with
    ``/key-manager`` as their root path), every other one to the Octavia API."""

    def __init__(self, app: ASGIApp, key_manager: ASGIApp) -> None:
        self.app = app
        self.key_manager = key_manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == ROOT or path.startswith(ROOT + "/")):
            outer = scope.get("root_path", "")
            scope.setdefault("app_root_path", outer)
            scope["root_path"] = outer + ROOT
            if path == ROOT:
                scope["path"] = ROOT + "/"
            await self.key_manager(scope, receive, send)
            return
        await self.app(scope, receive, send)
