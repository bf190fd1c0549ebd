"""``[api] auth_strategy = keystone``: Keystone tokens verified by keystonemiddleware's
``auth_token``, run over a minimal WSGI request.

:func:`lbaas.api.auth.make_authenticator` builds one :class:`KeystoneAuthenticator` per API
process; ``get_context`` (``lbaas/api/deps.py``) calls :meth:`~KeystoneAuthenticator.authenticate`
on the thread pool for every authenticated request (the middleware may call Keystone).

``auth_token`` is WSGI middleware and the API is ASGI, so the adapter builds a WSGI environ that
carries only the request's method, path and token headers (``X-Auth-Token``, ``X-Service-Token``:
no identity header a client sent can reach the middleware's output), runs the ``AuthProtocol``
over it in front of a tiny WSGI application that keeps the environ the middleware passes on, and
reads the identity the middleware put there (``X-Identity-Status``, ``X-Project-Id``,
``X-Roles``, ``X-User-Name``). A request the middleware rejects itself (no token, an invalid,
expired or revoked one; Keystone unreachable) never reaches that application: its status becomes
our own error (401, or 503), rendered as Octavia's fault body by ``lbaas/api/errors.py``.

The middleware reads ``[keystone_authtoken]`` from our ConfigOpts (it registers its options
there itself, and the auth plugin's once ``auth_type`` is known) and caches validated tokens in
memory for ``token_cache_time`` seconds (a revoked token is accepted until its entry expires).
Tokens are never logged.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from keystonemiddleware import auth_token
from oslo_config import cfg

from lbaas.core.errors import Forbidden, NotAuthenticated, ServiceUnavailable
from lbaas.services.tokens import Identity

TOKEN_HEADERS = ("x-auth-token", "x-service-token")
"""The request headers the middleware is shown (everything it needs to authenticate)."""

_SEEN = "lbaas.authenticated_environ"
"""Environ key of the list the inner application appends the environ it received to."""

INVALID = ("The request you have made requires authentication: the token is invalid, expired "
           "or revoked.")

StartResponse = Callable[..., Callable[[bytes], object]]

Headers = Mapping[str, str]
"""A request's headers by lower-case name (``lbaas.api.auth.Headers``; not imported from there,
which imports this module)."""


def _identified(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The application behind the middleware: keeps the environ it was given."""
    environ[_SEEN].append(environ)
    start_response("204 No Content", [])
    return []


class KeystoneAuthenticator:
    """The :class:`~lbaas.api.auth.Authenticator` of ``auth_strategy = keystone``."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._protocol = auth_token.AuthProtocol(_identified, {"oslo_config_config": conf})
        uri = conf.keystone_authtoken.www_authenticate_uri
        self._challenge = f'Keystone uri="{uri}"' if uri else 'Keystone realm="lbaas"'

    def cached(self, headers: Headers) -> Identity | None:
        """Never: even a cached token goes through the middleware, on the thread pool."""
        return None

    def authenticate(self, headers: Headers, method: str = "GET", path: str = "/") -> Identity:
        """The token's user, project and roles, or 401 (no token, or invalid, expired or
        revoked), 403 (a token not scoped to a project) or 503 (Keystone unreachable)."""
        if not headers.get("x-auth-token"):
            raise NotAuthenticated("Authentication required: send X-Auth-Token.",
                                   self._challenge)
        seen: list[dict[str, Any]] = []
        status = self._run(_environ(headers, method, path, seen))
        if not seen:
            if status.startswith("503"):
                raise ServiceUnavailable("The identity service is unavailable; retry the "
                                         "request.")
            raise NotAuthenticated(INVALID, self._challenge)
        env = seen[-1]
        if env.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":  # delay_auth_decision = true
            raise NotAuthenticated(INVALID, self._challenge)
        project_id = env.get("HTTP_X_PROJECT_ID", "")
        if not project_id:
            raise Forbidden("The load-balancer API needs a project-scoped token.")
        roles = tuple(r.strip() for r in env.get("HTTP_X_ROLES", "").split(",") if r.strip())
        return Identity(token_name=env.get("HTTP_X_USER_NAME", ""), project_id=project_id,
                        roles=roles, user_id=env.get("HTTP_X_USER_ID", ""),
                        keystone_token=headers.get("x-auth-token", ""))

    def _run(self, environ: dict[str, Any]) -> str:
        """Run the middleware over ``environ``; the status line it answered."""
        answer: list[str] = []

        def start_response(status: str, _headers: list[tuple[str, str]],
                           _exc_info: Any = None) -> Callable[[bytes], object]:
            answer.append(status)
            return lambda _data: None

        body = self._protocol(environ, start_response)
        try:
            for _chunk in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return answer[-1] if answer else "500 Internal Server Error"


def _environ(headers: Headers, method: str, path: str, seen: list[dict[str, Any]]
             ) -> dict[str, Any]:
    """A WSGI environ with the request's method, path and token headers, nothing else."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "lbaas", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
        "wsgi.run_once": False, _SEEN: seen,
    }
    for name in TOKEN_HEADERS:
        value = headers.get(name)
        if value:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ
