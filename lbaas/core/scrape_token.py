"""The bearer token Prometheus sends to scrape ``/metrics`` (``[metrics] token_file``).

:func:`load_scrape_token` reads the file once at start (refusing a missing file, one others may
read, or one without a usable token: :class:`ScrapeTokenError`); the API server
(``lbaas/api/routes/root.py``, loaded by ``build_services``) and the agent
(``lbaas/agent/metrics/endpoint.py``, loaded by ``lbaas/agent/service.py``) then accept
``Authorization: Bearer <token>`` compared in constant time. ``lbaas up`` creates the file on
first start and ``lbaas metrics-token create`` for other hosts (:func:`create_token_file`).
The token is never logged nor shown in a message.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from lbaas.core.private_files import PrivateFileError, create_private_file, read_private_file

TOKEN_OPTION = "[metrics] token_file"
CREATE_COMMAND = "lbaas metrics-token create"
MIN_LENGTH = 16
WHAT = "the metrics scrape token file"

MISSING = (f"Authentication required: send 'Authorization: Bearer <token>' with the token of "
           f"{TOKEN_OPTION}.")
"""The agent's 401 without credentials."""
WRONG = f"The bearer token is not the metrics scrape token ({TOKEN_OPTION})."
"""The 401 of a bearer token that does not match."""


class ScrapeTokenError(PrivateFileError):
    """The token file is missing, open to others or holds no usable token: no start."""


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class ScrapeToken:
    """The configured token; :meth:`matches` compares in constant time."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def __repr__(self) -> str:
        return "ScrapeToken(<hidden>)"

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self._secret)


def load_scrape_token(path: str | Path) -> ScrapeToken:
    """The token in ``path``; :class:`ScrapeTokenError` saying what to do otherwise."""
    raw = read_private_file(path, WHAT, TOKEN_OPTION, CREATE_COMMAND, error=ScrapeTokenError)
    try:
        token = raw.decode("ascii")
    except UnicodeDecodeError:
        token = ""
    if len(token) < MIN_LENGTH or not all(33 <= ord(c) < 127 for c in token):
        raise ScrapeTokenError(
            f"{WHAT} {path} ({TOKEN_OPTION}) does not hold a token (at least {MIN_LENGTH} "
            f"printable ASCII characters, no spaces, on one line); '{CREATE_COMMAND}' writes one")
    return ScrapeToken(token)


def create_token_file(path: str | Path) -> Path:
    """Write a new random token to ``path`` (0600, directory 0700 if new); ``FileExistsError``
    if there is one (Prometheus and the other servers may already use it)."""
    return create_private_file(path, secrets.token_urlsafe(32).encode() + b"\n")


def ensure_token_file(path: str | Path) -> bool:
    """Create the token file unless it exists (``lbaas up``); whether it was created."""
    try:
        create_token_file(path)
    except FileExistsError:
        return False
    return True


def configured_token(path: str | None) -> ScrapeToken | None:
    """The token of ``[metrics] token_file``, or None when the option is empty."""
    return load_scrape_token(path) if path else None
