"""Barbican's error body, ``{"code": N, "title": "...", "description": "..."}``, for every error
under ``/key-manager`` (the handlers :func:`install_error_handlers` registers on the secret
store's application; python-barbicanclient shows ``title: description``).

Routes raise :class:`KeyManagerError` with Barbican's own wording; domain errors
(``lbaas.core.errors``), validation errors and routing errors (404, 405) are rendered alike.
A description never carries a payload.
"""

from __future__ import annotations

import logging
import traceback

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from lbaas.api.errors import allowed_methods
from lbaas.core.errors import NotAuthenticated, ServiceError

LOG = logging.getLogger(__name__)

TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 406: "Not Acceptable", 409: "Conflict",
          413: "Request Entity Too Large", 415: "Unsupported Media Type",
          500: "Internal Server Error", 503: "Service Unavailable"}
"""webob's titles, the ones Barbican's bodies carry."""


class KeyManagerError(Exception):
    """An error answered with Barbican's body: ``description`` in Barbican's words."""

    def __init__(self, status_code: int, description: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status_code = status_code
        self.description = description
        self.headers = headers


def error_response(status_code: int, description: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    title = TITLES.get(status_code, "Error")
    return JSONResponse({"code": status_code, "title": title, "description": description},
                        status_code=status_code, headers=headers)


def invalid_object(schema: str, reason: str, prop: str, operation: str) -> KeyManagerError:
    """Barbican's 400 for a request body its schema refuses."""
    return KeyManagerError(400, f"{operation} issue seen - Provided object does not match "
                                f"schema '{schema}': {reason}. Invalid property: '{prop}'.")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error Barbican's body."""

    @app.exception_handler(KeyManagerError)
    async def _key_manager_error(_request: Request, exc: KeyManagerError) -> JSONResponse:
        return error_response(exc.status_code, exc.description, exc.headers)

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        headers = ({"WWW-Authenticate": exc.challenge} if isinstance(exc, NotAuthenticated)
                   else None)
        return error_response(exc.status_code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError
                                ) -> JSONResponse:
        # Only path and query parameters reach here (bodies are parsed by the routes); the
        # input is not echoed.
        fields = ", ".join(".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
                           for err in exc.errors())
        return error_response(400, f"Invalid request parameter(s): {fields}.")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        description = str(exc.detail) if exc.detail else TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404:
            description = "The resource could not be found."
        elif exc.status_code == 405:
            description = "The method is not allowed for the requested URL."
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(exc.status_code, description, headers)

    @app.exception_handler(sa_exc.OperationalError)
    async def _database_unavailable(request: Request, exc: sa_exc.OperationalError
                                    ) -> JSONResponse:
        LOG.error("database error handling %s %s: %s", request.method, request.url.path,
                  type(exc.orig).__name__)
        return error_response(503, "The database is unavailable; retry the request.")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The exception's type and frames, not its text: that could quote a payload.
        LOG.error("unexpected error handling %s %s: %s\n%s", request.method, request.url.path,
                  type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
        return error_response(500, "Secret store failure seen - please contact site "
                                   "administrator.")
