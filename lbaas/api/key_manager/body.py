"""Reading a JSON request body for the secret store: Barbican's size cap (413), content type
(415) and ``Malformed JSON`` (400)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from lbaas.api.key_manager.access import services_of
from lbaas.api.key_manager.errors import KeyManagerError

TOO_LARGE = "Provided information too large to process"


async def raw_body(request: Request, operation: str) -> bytes:
    """The body, refused with 413 above ``[key_manager] max_allowed_request_size_in_bytes``."""
    cap = services_of(request).conf.key_manager.max_allowed_request_size_in_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise KeyManagerError(413, f"{operation} issue seen - {TOO_LARGE}.")
    body = await request.body()
    if len(body) > cap:
        raise KeyManagerError(413, f"{operation} issue seen - {TOO_LARGE}.")
    return body


async def json_body(request: Request, operation: str) -> Any:
    """The JSON body of a create (``application/json`` only, as Barbican)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise KeyManagerError(415, "Unexpected content type. Expected content types are: "
                                   "['application/json']")
    body = await raw_body(request, operation)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise KeyManagerError(400, "Malformed JSON") from None
