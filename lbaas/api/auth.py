"""Authentication: turns ``X-Auth-Token`` or HTTP Basic credentials into a RequestContext.

Verified tokens are cached for a few seconds so that a busy client costs one hash per request,
not one query; a revoked token stops working within ``CACHE_SECONDS``.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.errors import NotAuthenticated
from lbaas.db.engine import read_session
from lbaas.services.tokens import Identity, hash_secret, verify_secret

CACHE_SECONDS = 5.0


class TokenAuthenticator:
    """Verifies credentials against the token table."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory
        self._cache: dict[tuple[str, str | None], tuple[float, Identity]] = {}
        self._lock = threading.Lock()

    def cached(self, x_auth_token: str | None, authorization: str | None) -> Identity | None:
        """The caller's identity if it was verified moments ago (no database access)."""
        name, secret = _credentials(x_auth_token, authorization)
        with self._lock:
            hit = self._cache.get((hash_secret(secret), name))
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def authenticate(self, x_auth_token: str | None, authorization: str | None) -> Identity:
        """The caller's identity, or NotAuthenticated (401)."""
        name, secret = _credentials(x_auth_token, authorization)
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


def _credentials(x_auth_token: str | None, authorization: str | None) -> tuple[str | None, str]:
    """(token name or None, secret) from the headers, or 401 when there are none."""
    name: str | None = None
    secret = x_auth_token
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
