"""The OpenAPI document as clients meet the API: Octavia's fault body for every error status
(FastAPI's 422 never happens: validation errors are 400s)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

FAULT_SCHEMA = {
    "type": "object",
    "required": ["faultcode", "faultstring", "debuginfo"],
    "properties": {"faultcode": {"type": "string", "enum": ["Client", "Server"]},
                   "faultstring": {"type": "string"},
                   "debuginfo": {"type": ["string", "null"]}},
}
ERRORS = {"400": "Invalid input", "401": "Authentication required",
          "403": "Not allowed (policy or quota)", "404": "Not found (or another project's)",
          "405": "Method not allowed", "409": "Conflict (immutable or duplicate)",
          "503": "No agent available"}
UNAUTHENTICATED = {"/", "/v2", "/healthcheck", "/metrics", "/openapi.json"}


def install_openapi(app: FastAPI) -> None:
    """Replace the app's OpenAPI generator with one documenting our error responses."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Fault"] = FAULT_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                _document_errors(path, operation)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def _document_errors(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    if path in UNAUTHENTICATED:
        codes = ["405"] if path != "/healthcheck" else ["405", "503"]
    else:
        codes = list(ERRORS)
    for code in codes:
        responses.setdefault(code, {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Fault"}}}})
