"""A small HTTP client for the Octavia v2 API (``/v2/lbaas``) used by the resource commands.

Every failure leaves as :class:`ApiError`, carrying the server's ``faultstring`` and the HTTP
status (``None`` when the server could not be reached at all).
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

DEFAULT_ENDPOINT = "http://127.0.0.1:9876"
API_PREFIX = "/v2/lbaas"
# Suffixes users commonly include in an endpoint; the client adds the API prefix itself.
_ENDPOINT_SUFFIXES = ("/lbaas", "/v2.0", "/v2")

Params = dict[str, str | list[str]]


class CliError(Exception):
    """A failure to report to the user (exit status 1)."""


class ApiError(CliError):
    """The API refused a request, or could not be reached (``status`` is then ``None``)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        return f"{self.message} (HTTP {self.status})"


def normalize_endpoint(endpoint: str) -> str:
    """The server root for ``endpoint``, accepting ``…/v2``, ``…/v2.0`` and ``…/v2/lbaas`` too."""
    root = endpoint.strip().rstrip("/")
    for suffix in _ENDPOINT_SUFFIXES:
        if root.endswith(suffix):
            root = root[: -len(suffix)].rstrip("/")
    return root


def fault_message(response: httpx.Response) -> str:
    """The server's explanation of a failed response (Octavia ``faultstring`` when present)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("faultstring", "message", "detail", "title"):
            if body.get(key):
                return str(body[key])
    text = response.text.strip()
    return text[:500] if text else response.reason_phrase or "request failed"


@cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process (building one costs tens of milliseconds)."""
    return httpx.create_ssl_context()


class ApiClient:
    """Calls the API at ``endpoint`` with ``token`` sent as ``X-Auth-Token``."""

    def __init__(self, endpoint: str, token: str | None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.endpoint = normalize_endpoint(endpoint)
        self.has_token = bool(token)
        headers = {"Accept": "application/json", "User-Agent": "lbaas-cli"}
        if token:
            headers["X-Auth-Token"] = token
        self._http = httpx.Client(base_url=self.endpoint, headers=headers, timeout=timeout,
                                  transport=transport, verify=_ssl_context())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, body: Any = None,
                params: Params | None = None) -> Any:
        """Send one request; the decoded JSON body (``None`` when empty) or :class:`ApiError`.

        ``path`` is relative to the load-balancing API (``/loadbalancers``) unless it is a
        versioned path from the server root (``/v2.0/subnets``).
        """
        url = path if path.startswith("/v2") else API_PREFIX + path
        try:
            response = self._http.request(method, url, json=body, params=params)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach the API at {self.endpoint}: {exc}") from None
        if response.status_code >= 400:
            message = fault_message(response)
            if response.status_code == 401 and not self.has_token:
                message += " (no token given: use --os-token or set OS_TOKEN)"
            raise ApiError(message, response.status_code)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"the API sent a response that is not JSON for {method} {path}",
                           response.status_code) from None

    def get(self, path: str, params: Params | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any = None, params: Params | None = None) -> Any:
        return self.request("PUT", path, body, params)

    def delete(self, path: str, params: Params | None = None) -> None:
        self.request("DELETE", path, params=params)

    def list(self, path: str, key: str, params: Params | None = None) -> list[dict[str, Any]]:
        """Every object of the collection at ``path``, following ``<key>_links`` next pages."""
        query: Params = dict(params or {})
        items: list[dict[str, Any]] = []
        seen_markers: set[str] = set()
        while True:
            page = self.get(path, query)
            items.extend(page.get(key, []))
            marker = _next_marker(page.get(f"{key}_links", []))
            if marker is None or marker in seen_markers:
                return items
            seen_markers.add(marker)
            query = {**query, "marker": marker}


def _next_marker(links: list[dict[str, str]]) -> str | None:
    """The ``marker`` of the ``next`` link of a page, if there is one."""
    for link in links:
        if link.get("rel") == "next":
            for name, value in parse_qsl(urlsplit(link.get("href", "")).query):
                if name == "marker":
                    return value
    return None
