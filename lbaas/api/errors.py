"""The handlers that render every error in Octavia's body:
``{"faultcode": "Client"|"Server", "faultstring": "...", "debuginfo": null}``.

Services raise :mod:`lbaas.core.errors`; the handlers installed by :func:`install_error_handlers`
turn them, and every validation or unexpected error, into that body. No request yields a bare
500 page.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from lbaas.core.errors import NotAuthenticated, ServiceError

LOG = logging.getLogger(__name__)


def fault_body(message: str, status_code: int) -> dict[str, Any]:
    """Octavia's error body."""
    return {"faultcode": "Client" if status_code < 500 else "Server",
            "faultstring": message, "debuginfo": None}


def fault_response(message: str, status_code: int, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    return JSONResponse(fault_body(message, status_code), status_code=status_code,
                        headers=headers)


def _is_union_branch(segment: object) -> bool:
    """pydantic names the member of a union a value failed as by its class (``PoolGraph``);
    attributes are snake_case."""
    return isinstance(segment, str) and segment[:1].isupper() and segment.isidentifier()


def _closest_union_branch(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of a value that matched no member of a union, keep the errors of the member it came
    closest to (fewest errors, but not one that only refuses attributes) and drop the member's
    name from their location: a tree's pool with a bad member address is a ``PoolGraph`` with
    one error, not also a ``PoolNameRef`` (a pool named by reference) refusing every attribute."""
    branches: dict[tuple[str, ...], dict[str, list[int]]] = {}
    for index, err in enumerate(errors):
        loc = [str(p) for p in err.get("loc", ())]
        tag = next((i for i, p in enumerate(loc) if _is_union_branch(p)), None)
        if tag is not None:
            branches.setdefault(tuple(loc[:tag]), {}).setdefault(loc[tag], []).append(index)
    def distance(indexes: list[int]) -> tuple[bool, int]:
        # A member refusing every attribute it was given is the wrong shape, however few.
        wrong_shape = all(errors[i].get("type") == "extra_forbidden" for i in indexes)
        return wrong_shape, len(indexes)

    dropped: set[int] = set()
    for members in branches.values():
        closest = min(members.values(), key=distance)
        dropped.update(i for indexes in members.values() if indexes is not closest
                       for i in indexes)
    kept = []
    for index, err in enumerate(errors):
        if index in dropped:
            continue
        where = tuple(err.get("loc", ()))
        tag = next((i for i, p in enumerate(where) if _is_union_branch(p)), None)
        kept.append(err if tag is None else {**err, "loc": where[:tag] + where[tag + 1:]})
    return kept


def _describe_validation_error(exc: RequestValidationError) -> str:
    parts = []
    for err in _closest_union_branch(list(exc.errors())):
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        # Drop the envelope key ("loadbalancer") so the message names the attribute itself.
        field = ".".join(loc[1:] if len(loc) > 1 else loc) or "body"
        msg = str(err.get("msg", "invalid value"))
        if err.get("type") == "extra_forbidden":
            msg = "unrecognized attribute"
        if "input" in err and err.get("type") not in ("missing", "json_invalid"):
            value = repr(err["input"])
            if len(value) > 80:
                value = value[:77] + "..."
            parts.append(f"Invalid input for field/attribute {field}. Value: {value}. {msg}")
        else:
            parts.append(f"Invalid input for field/attribute {field}. {msg}")
    return "; ".join(parts) or "Invalid input."


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts for the request's path (for a complete ``Allow``)."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so every error leaves as Octavia's fault body."""

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        # A script's request (the dashboard's) gets no challenge: a browser answers a Basic
        # one with its own password dialog instead of letting the page sign in again.
        scripted = request.headers.get("x-requested-with") == "XMLHttpRequest"
        headers = ({"WWW-Authenticate": exc.challenge}
                   if isinstance(exc, NotAuthenticated) and not scripted else None)
        return fault_response(exc.message, exc.status_code, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return fault_response(_describe_validation_error(exc), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail) if exc.detail else "Error"
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and message == "Not Found":
            message = "The resource could not be found."
        elif exc.status_code == 405:
            message = "The method is not allowed for the requested URL."
            headers["Allow"] = ", ".join(allowed_methods(request))
        return fault_response(message, exc.status_code, headers)

    @app.exception_handler(sa_exc.OperationalError)
    async def _database_unavailable(request: Request, exc: sa_exc.OperationalError
                                    ) -> JSONResponse:
        # Connection lost, database restarting, lock wait timed out: the client may retry.
        LOG.error("database error handling %s %s: %s", request.method, request.url.path,
                  exc.orig)
        return fault_response("The database is unavailable; retry the request.", 503)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        LOG.exception("unexpected error handling %s %s", request.method, request.url.path)
        return fault_response("An unexpected error occurred; it has been logged.", 500)
