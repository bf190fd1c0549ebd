"""Barbican's microversions and version documents under ``/key-manager``.

:class:`Microversions` (ASGI middleware of the secret store's application) reads the
``OpenStack-API-Version: key-manager X.Y`` header as Barbican's middleware does: none is 1.0,
``latest`` the newest, an unknown version 406, a malformed one 400; every answer names the
version it was given in. The routes serve the version documents exactly as Barbican words them:
the root (no authentication, 300 Multiple Choices) and ``/v1`` (authenticated), each in its 1.0
form (``status: stable``, media types) or its 1.1 form (``CURRENT``, ``min_version``,
``max_version``): keystoneauth's discovery and python-barbicanclient read the latter.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lbaas.api.key_manager.access import MICROVERSION_KEY, base_url, caller
from lbaas.api.key_manager.errors import TITLES
from lbaas.api.responses import JSONBody, ok

VERSIONS = ("1.0", "1.1")
"""What is served: 1.1 adds ``consumers`` to secrets. Barbican's 1.2 (consumers that block a
delete) is not: lbaas refuses deleting a secret a listener or pool uses at every version."""
HEADER = "openstack-api-version"
SERVICE = "key-manager"
_VERSION = re.compile(r"^([1-9]\d*)\.(0|[1-9]\d*)$")

router = APIRouter()


def requested_version(header: str | None) -> str:
    """The version the header asks of the key manager; ValueError (406) for one not served,
    TypeError (400) for a malformed one."""
    if not header:
        return VERSIONS[0]
    for part in header.split(","):
        words = part.strip().split()
        if len(words) == 2 and words[0].lower() == SERVICE:
            value = words[1].lower()
            if value == "latest":
                return VERSIONS[-1]
            if not _VERSION.match(value):
                raise TypeError(f"invalid version string: {value}")
            normalized = "{}.{}".format(*(int(n) for n in value.split(".")))
            if normalized not in VERSIONS:
                raise ValueError(f"Unacceptable version header: {value}")
            return normalized
    return VERSIONS[0]


class Microversions:
    """Pure ASGI: the requested microversion into the scope, and into every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == HEADER.encode()]
        try:
            version = requested_version(", ".join(raw))
        except (ValueError, TypeError) as exc:
            status = 406 if isinstance(exc, ValueError) else 400
            await _send_error(send, status, f"Invalid microversion: {exc}")
            return
        scope[MICROVERSION_KEY] = version
        stamp = [(b"openstack-api-version", f"{SERVICE} {version}".encode()),
                 (b"vary", b"OpenStack-API-Version")]

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *stamp]
            await send(message)

        await self.app(scope, receive, send_with_version)


async def _send_error(send: Send, status: int, description: str) -> None:
    body = json.dumps({"code": status, "title": TITLES[status],
                       "description": description}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def version_info(base: str, microversion: str) -> dict[str, Any]:
    """The v1 entry of a version document, in the form ``microversion`` gets."""
    info: dict[str, Any] = {"id": "v1", "status": "CURRENT", "min_version": VERSIONS[0],
                            "max_version": VERSIONS[-1],
                            "links": [{"rel": "self", "href": f"{base}/v1/"},
                                      {"rel": "describedby", "type": "text/html",
                                       "href": "https://docs.openstack.org/"}]}
    if microversion == VERSIONS[0]:
        # Barbican's 1.0 form (it means to add "updated" and never does).
        del info["min_version"], info["max_version"]
        info["status"] = "stable"
        info["media-types"] = [{"base": "application/json",
                                "type": "application/vnd.openstack.key-manager-v1+json"}]
    return info


@router.get("/", include_in_schema=False)
def versions(request: Request) -> JSONBody:
    """Every version (300, as Barbican); no authentication."""
    microversion = request.scope[MICROVERSION_KEY]
    info = version_info(base_url(request), microversion)
    body: dict[str, Any] = ({"versions": {"values": [info]}} if microversion == VERSIONS[0]
                            else {"versions": [info]})
    return ok(body, status_code=300)


@router.get("/v1", include_in_schema=False, dependencies=[Depends(caller)])
@router.get("/v1/", include_in_schema=False, dependencies=[Depends(caller)])
def version_v1(request: Request) -> JSONBody:
    """The v1 document (authenticated, as Barbican's pipeline)."""
    return ok({"version": version_info(base_url(request), request.scope[MICROVERSION_KEY])})
