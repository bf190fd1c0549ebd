"""Shared fixtures: the API under test on SQLite (always) and PostgreSQL (started by the tests),
and a real Keystone (``keystone``, started on first use)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functional.harness import Api, build_api, close_api
from tests.keystone_server import KeystoneServer, peers_available
from tests.pg import postgres_url_factory


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A fresh API with tokens and a subnet, on each database."""
    state = tmp_path_factory.mktemp("state")
    url = ""
    if request.param == "postgres":
        url = postgres_url_factory(request)
    built = build_api(str(state), url)
    try:
        yield built
    finally:
        close_api(built)


@pytest.fixture
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A fresh API on SQLite only (for tests whose subject is not the database)."""
    built = build_api(str(tmp_path_factory.mktemp("state")))
    try:
        yield built
    finally:
        close_api(built)


@pytest.fixture(scope="session")
def keystone() -> Iterator[KeystoneServer]:
    """A real Keystone for the whole session (``tests/keystone_server.py``); tests create the
    projects and users they need, with names of their own."""
    if not peers_available():
        pytest.skip("Keystone is not installed in tests/peers/.venv (make python-deps)")
    with KeystoneServer() as server:
        yield server


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.pg import stop_postgres

    stop_postgres()
