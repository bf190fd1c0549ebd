"""``lbaas up``'s admin token on a real SQLite database: a restart keeps the stored token while it
still authenticates, and replaces it when it was revoked or the database was recreated; the
``clouds.yaml`` it writes names the API and the secret store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from lbaas.api.auth import TokenAuthenticator
from lbaas.cli.aio import ADMIN_TOKEN_NAME, _admin_token, _write_clouds
from lbaas.core.errors import NotAuthenticated
from lbaas.db import models
from lbaas.db.engine import make_engine, make_session_factory, read_session, write_session
from lbaas.db.migrate import upgrade
from lbaas.services.tokens import create_token, revoke_token

ENDPOINT = "http://127.0.0.1:9876"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir(mode=0o700)
    return path


def _database(path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@pytest.fixture
def sessions(state: Path) -> Iterator[sessionmaker[Session]]:
    yield from _database(state / "lbaas.sqlite")


def _start(sessions: sessionmaker[Session], state: Path) -> str:
    """What ``lbaas up`` does with the token at start: get it, then write the files."""
    token = _admin_token(sessions, state)
    _write_clouds(state, ENDPOINT, token)
    return token


def _authenticates(sessions: sessionmaker[Session], token: str) -> bool:
    try:
        identity = TokenAuthenticator(sessions).authenticate({"x-auth-token": token})
    except NotAuthenticated:
        return False
    return identity.token_name == ADMIN_TOKEN_NAME and "admin" in identity.roles


def _admin_tokens(sessions: sessionmaker[Session]) -> int:
    with read_session(sessions) as s:
        return int(s.scalar(select(func.count()).select_from(models.Token)
                            .where(models.Token.name == ADMIN_TOKEN_NAME)) or 0)


def test_restart_keeps_a_token_that_still_authenticates(
        sessions: sessionmaker[Session], state: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        first = _start(sessions, state)
        second = _start(sessions, state)
    assert second == first and _authenticates(sessions, first)
    assert _admin_tokens(sessions) == 1
    assert (state / "admin-token").read_text() == first + "\n"
    assert first in (state / "clouds.yaml").read_text()
    for name in ("admin-token", "clouds.yaml"):
        assert (state / name).stat().st_mode & 0o777 == 0o600
    assert "kept the stored admin token" in caplog.text
    assert first not in caplog.text


def test_clouds_yaml_names_the_api_and_the_secret_store(sessions: sessionmaker[Session],
                                                        state: Path) -> None:
    """Two clouds of the same token: ``lbaas`` at the API's root, ``lbaas-secrets`` at the
    secret store's v1 (with ``admin_token`` auth, python-barbicanclient uses the endpoint as
    given). tests/e2e/test_traffic_tls.py runs the real ``openstack`` CLI with this file."""
    token = _start(sessions, state)
    clouds = yaml.safe_load((state / "clouds.yaml").read_text())["clouds"]
    assert clouds == {
        "lbaas": {"auth_type": "admin_token", "auth": {"endpoint": ENDPOINT, "token": token}},
        "lbaas-secrets": {"auth_type": "admin_token",
                          "auth": {"endpoint": f"{ENDPOINT}/key-manager/v1", "token": token}}}


def test_revoked_token_is_replaced(sessions: sessionmaker[Session], state: Path,
                                   caplog: pytest.LogCaptureFixture) -> None:
    old = _start(sessions, state)
    with write_session(sessions) as s:
        assert revoke_token(s, ADMIN_TOKEN_NAME)
    with caplog.at_level(logging.DEBUG):
        new = _start(sessions, state)
    assert new != old and _authenticates(sessions, new) and not _authenticates(sessions, old)
    assert (state / "admin-token").read_text() == new + "\n"
    assert old not in caplog.text and new not in caplog.text


def test_recreated_database_gets_a_new_token(sessions: sessionmaker[Session],
                                             state: Path) -> None:
    old = _start(sessions, state)
    for fresh in _database(state / "recreated.sqlite"):
        new = _start(fresh, state)
        assert new != old and _authenticates(fresh, new) and not _authenticates(fresh, old)
        assert _admin_tokens(fresh) == 1


def test_stored_secret_of_another_token_is_not_adopted(sessions: sessionmaker[Session],
                                                       state: Path) -> None:
    """A file holding some other valid token (not the admin one) is replaced, not trusted."""
    with write_session(sessions) as s:
        _tok, member = create_token(s, "project-a", ["member"], name="someone")
    (state / "admin-token").write_text(member + "\n")
    token = _start(sessions, state)
    assert token != member and _authenticates(sessions, token)
    # The other token is left alone.
    identity = TokenAuthenticator(sessions).authenticate({"x-auth-token": member})
    assert identity.token_name == "someone"


def test_missing_or_empty_file_gives_a_new_token(sessions: sessionmaker[Session],
                                                  state: Path) -> None:
    (state / "admin-token").write_text("\n")
    token = _start(sessions, state)
    assert token.startswith("lbaas_") and _authenticates(sessions, token)
    (state / "admin-token").unlink()
    (state / "clouds.yaml").unlink()
    again = _start(sessions, state)
    assert again != token and _authenticates(sessions, again)
    assert not _authenticates(sessions, token) and _admin_tokens(sessions) == 1
