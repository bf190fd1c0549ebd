"""Authentication: the :class:`Authenticator` protocol and the choice of one by
``[api] auth_strategy`` (:func:`make_authenticator`, called by ``build_services``).

``get_context`` (``lbaas/api/deps.py``) asks the authenticator for the caller's
:class:`~lbaas.services.tokens.Identity`: first ``cached`` on the event loop, then, if that does
not know, ``authenticate`` on the thread pool. Three strategies:

- ``token`` (default): :class:`TokenAuthenticator`, lbaas's own tokens (``X-Auth-Token`` or HTTP
  Basic) verified against the token table. Verified tokens are cached for a few seconds so that
  a busy client costs one hash per request, not one query; a revoked token stops working within
  ``CACHE_SECONDS``.
- ``keystone``: Keystone tokens, verified by keystonemiddleware (``lbaas/api/keystone.py``).
- ``noauth``: :class:`NoAuthenticator`, every caller is admin (development only).
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Mapping
from typing import Protocol

from oslo_config import cfg
from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.errors import NotAuthenticated
from lbaas.db.engine import read_session
from lbaas.services.tokens import Identity, hash_secret, verify_secret

CACHE_SECONDS = 5.0

Headers = Mapping[str, str]
"""A request's headers, looked up by lower-case name (Starlette's ``Headers`` or a dict)."""


class Authenticator(Protocol):
    """Turns a request's credentials into the caller's identity."""

    def cached(self, headers: Headers) -> Identity | None:
        """The identity when known without I/O (called on the event loop), else None."""

    def authenticate(self, headers: Headers, method: str = "GET", path: str = "/") -> Identity:
        """The identity, or NotAuthenticated (401). May block: called on the thread pool."""


def make_authenticator(conf: cfg.ConfigOpts, sessions: sessionmaker[Session]) -> Authenticator:
    """The authenticator ``[api] auth_strategy`` names."""
    strategy = conf.api.auth_strategy
    if strategy == "keystone":
        # Imported only here: keystonemiddleware takes a second or two to import.
        from lbaas.api.keystone import KeystoneAuthenticator

        return KeystoneAuthenticator(conf)
    if strategy == "noauth":
        return NoAuthenticator()
    return TokenAuthenticator(sessions)


class NoAuthenticator:
    """``noauth``: every request is admin of project ``admin``."""

    IDENTITY = Identity(token_name="noauth", project_id="admin", roles=("admin",))

    def cached(self, headers: Headers) -> Identity | None:
        return self.IDENTITY

    def authenticate(self, headers: Headers, method: str = "GET", path: str = "/") -> Identity:
        return self.IDENTITY


class TokenAuthenticator:
    """``token``: verifies lbaas's own credentials against the token table."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self._cache: dict[tuple[str, str | None], tuple[float, Identity]] = {}
        self._lock = threading.Lock()

    def cached(self, headers: Headers) -> Identity | None:
        """The caller's identity if it was verified moments ago (no database access)."""
        name, secret = _credentials(headers)
        with self._lock:
            hit = self._cache.get((hash_secret(secret), name))
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def authenticate(self, headers: Headers, method: str = "GET", path: str = "/") -> Identity:
        """The caller's identity, or NotAuthenticated (401)."""
        name, secret = _credentials(headers)
        key = (hash_secret(secret), name)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
        with read_session(self._factory) as session:
            identity = verify_secret(session, secret, name)
        if identity is None:
            raise NotAuthenticated("The request you have made requires authentication: "
                                   "the token is unknown or expired.")
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[key] = (now + CACHE_SECONDS, identity)
        return identity

    def forget_all(self) -> None:
        with self._lock:
            self._cache.clear()


def _credentials(headers: Headers) -> tuple[str | None, str]:
    """(token name or None, secret) from the headers, or 401 when there are none."""
    name: str | None = None
    secret = headers.get("x-auth-token")
    authorization = headers.get("authorization")
    if authorization and authorization.lower().startswith("basic "):
        name, secret = _parse_basic(authorization)
    if not secret:
        raise NotAuthenticated("Authentication required: send X-Auth-Token or HTTP Basic "
                               "credentials.")
    return name, secret


def _parse_basic(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header.split(None, 1)[1], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, IndexError) as exc:
        raise NotAuthenticated("Malformed HTTP Basic credentials.") from exc
    name, sep, secret = decoded.partition(":")
    if not sep:
        raise NotAuthenticated("Malformed HTTP Basic credentials.")
    return name, secret
