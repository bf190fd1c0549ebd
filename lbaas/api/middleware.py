"""ASGI middleware: request id in and out (``X-Openstack-Request-Id``), access log, metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lbaas.core.context import new_request_id
from lbaas.core.request_ids import is_valid
from lbaas.observability.logging import bind_request_id, reset_request_id
from lbaas.observability.metrics import ApiMetrics

LOG = logging.getLogger("lbaas.api.access")


class RequestObservability:
    """Pure ASGI (cheaper than BaseHTTPMiddleware on the hot path)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-openstack-request-id")
        request_id = incoming if incoming and is_valid(incoming) else new_request_id()
        token = bind_request_id(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-openstack-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe(scope["method"], route, status, elapsed)
            LOG.info("%s %s %s %.1fms", scope["method"], scope["path"], status,
                     elapsed * 1000, extra={"status": status, "route": route})
            reset_request_id(token)


def _route_template(scope: Scope) -> str:
    """The matched route with its parameters as ``{name}`` (bounded label cardinality)."""
    if scope.get("route") is None:
        return "unmatched"
    path = str(scope["path"])
    for name, value in (scope.get("path_params") or {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Any = scope.get("headers") or []
    for key, value in headers:
        if key == name:
            return str(value.decode("latin-1"))
    return None
