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
          "501": "Not supported by the provider", "503": "No agent available"}
UNAUTHENTICATED = {"/", "/v2", "/healthcheck", "/openapi.json"}
ADMIN_OR_SCRAPE_TOKEN = {"/metrics": ["401", "403", "405"]}
"""Paths an admin or the metrics scrape token may read (``lbaas/api/metrics_auth.py``)."""


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


_COMMA_LIST = {"type": "string"}
LIST_PARAMETERS = [
    _query("limit", "Page size (at most [api] pagination_max_limit).",
           {"type": "integer", "minimum": 1}),
    _query("marker", "Id of the last object of the previous page.", {"type": "string"}),
    _query("page_reverse", "Page backwards from the marker.", {"type": "boolean"}),
    _query("sort", "Sort keys with optional directions: 'name:asc,created_at:desc'.",
           {"type": "string"}),
    _query("sort_key", "Sort key (with sort_dir; alternative to sort).", {"type": "string"}),
    _query("sort_dir", "Sort direction for sort_key.", {"type": "string",
                                                        "enum": ["asc", "desc"]}),
    _query("fields", "Attributes to return, comma-separated.", _COMMA_LIST),
    _query("tags", "Objects with all of these tags (comma-separated).", _COMMA_LIST),
    _query("tags-any", "Objects with any of these tags.", _COMMA_LIST),
    _query("not-tags", "Objects without all of these tags.", _COMMA_LIST),
    _query("not-tags-any", "Objects with none of these tags.", _COMMA_LIST),
]
"""Query parameters every collection GET understands (besides equality filters on any of its
scalar attributes, e.g. ``?name=web&operating_status=ONLINE``)."""
LIST_QUERY = {"x-lbaas-list-query": True}
"""``openapi_extra`` of the routes answering through ``list_page``: their operations get
:data:`LIST_PARAMETERS`."""
FIELDS_QUERY = {"x-lbaas-fields-query": True}
"""``openapi_extra`` of the lists that are no table (providers): only ``fields`` applies."""


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
                if operation.pop("x-lbaas-list-query", False):
                    _document_list_parameters(operation)
                    _allow_field_selection(schemas, operation)
                elif operation.pop("x-lbaas-fields-query", False):
                    operation.setdefault("parameters", []).extend(
                        p for p in LIST_PARAMETERS if p["name"] == "fields")
                    _allow_field_selection(schemas, operation)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def _document_errors(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    if path in ADMIN_OR_SCRAPE_TOKEN:
        codes = ADMIN_OR_SCRAPE_TOKEN[path]
    elif path in UNAUTHENTICATED:
        codes = ["405"] if path != "/healthcheck" else ["405", "503"]
    else:
        codes = list(ERRORS)
    for code in codes:
        responses.setdefault(code, {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Fault"}}}})


def _document_list_parameters(operation: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    present = {p.get("name") for p in parameters}
    parameters.extend(p for p in LIST_PARAMETERS if p["name"] not in present)
    operation["description"] = (operation.get("description") or "") + (
        "\n\nAlso filters by equality on any scalar attribute of the objects listed.")


def _allow_field_selection(schemas: dict[str, Any], operation: dict[str, Any]) -> None:
    """With ``?fields=`` a list answers only the attributes asked for, so the objects of a
    list page require none: they refer to a copy of the object's schema without ``required``
    (``<Object>Fields``); a show still promises every attribute."""
    page_ref = (operation.get("responses", {}).get("200", {}).get("content", {})
                .get("application/json", {}).get("schema", {}).get("$ref"))
    if page_ref is None:
        return
    for prop in schemas[page_ref.rsplit("/", 1)[1]].get("properties", {}).values():
        items = prop.get("items", {})
        item_ref = items.get("$ref")
        if item_ref is None or item_ref.endswith("Fields"):
            continue
        name = item_ref.rsplit("/", 1)[1]
        partial = {key: value for key, value in schemas[name].items() if key != "required"}
        partial["description"] = (f"{name}, or only the attributes named by ?fields= when the "
                                  "list query gives it.")
        schemas[f"{name}Fields"] = partial
        items["$ref"] = f"#/components/schemas/{name}Fields"
