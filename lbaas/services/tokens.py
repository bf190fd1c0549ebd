"""API tokens: issue (``lbaas token create``), verify (every request), revoke, and keep a named
token across restarts (``lbaas up``'s admin token).

Only a SHA-256 of each secret is stored; the secret is shown once, when it is created.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lbaas.core.roles import VALID_ROLES
from lbaas.db.models import Token, new_id, utcnow


@dataclass(frozen=True)
class Identity:
    """Who a verified token belongs to."""

    token_name: str
    project_id: str
    roles: tuple[str, ...]
    user_id: str = ""
    """Keystone's user id (lbaas's own tokens have no user)."""
    keystone_token: str = field(default="", repr=False, compare=False)
    """The caller's Keystone token (``auth_strategy = keystone`` only): lbaas reads a real
    Barbican's secrets with it while the request lasts. Kept in memory, never logged."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, project_id: str, roles: list[str], name: str | None = None,
                 expires_at: dt.datetime | None = None) -> tuple[Token, str]:
    """Store a new token; return it and its secret (which is not stored)."""
    unknown = [r for r in roles if r not in VALID_ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; valid: {', '.join(VALID_ROLES)}")
    if not project_id:
        raise ValueError("project must not be empty")
    secret = "lbaas_" + secrets.token_urlsafe(32)
    token = Token(id=new_id(), name=name or f"token-{secrets.token_hex(4)}",
                  secret_hash=hash_secret(secret), project_id=project_id, roles=list(roles),
                  expires_at=expires_at)
    session.add(token)
    session.flush()
    return token, secret


def verify_secret(session: Session, secret: str, name: str | None = None) -> Identity | None:
    """The identity of a token secret (and, for HTTP Basic, its name), or None."""
    token = session.scalars(select(Token).where(Token.secret_hash == hash_secret(secret))).first()
    if token is None:
        return None
    if name is not None and not hmac.compare_digest(token.name, name):
        return None
    if token.expires_at is not None and token.expires_at <= utcnow():
        return None
    return Identity(token.name, token.project_id, tuple(token.roles))


def revoke_token(session: Session, name: str) -> bool:
    token = session.scalars(select(Token).where(Token.name == name)).first()
    if token is None:
        return False
    session.delete(token)
    return True


def keep_or_replace(session: Session, secret: str | None, name: str, project_id: str,
                    roles: list[str]) -> tuple[str, bool]:
    """``secret`` if it still authenticates as token ``name`` of ``project_id`` with ``roles``;
    otherwise a new token ``name`` (replacing any old one of that name) and its secret.

    Returns the secret and whether it is new. For a caller that stored the secret of a token it
    made earlier and wants to keep it while the database still honours it.
    """
    if secret:
        identity = verify_secret(session, secret, name)
        if (identity is not None and identity.project_id == project_id
                and set(roles) <= set(identity.roles)):
            return secret, False
    revoke_token(session, name)
    session.flush()
    _token, new_secret = create_token(session, project_id, roles, name=name)
    return new_secret, True
