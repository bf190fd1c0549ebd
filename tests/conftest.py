"""Shared fixtures: the API under test on SQLite (always), PostgreSQL and MariaDB (servers started
by the tests, ``tests/databases.py``), a real Keystone (``keystone``, started on first use) and a
real Barbican trusting it (``barbican``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.barbican_server import BarbicanServer, barbican_available
from tests.databases import DATABASES, database_url, stop_servers
from tests.functional.harness import Api, build_api, close_api
from tests.keystone_server import KeystoneServer, peers_available


@pytest.fixture(params=DATABASES)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A fresh API with tokens and a subnet, on each database."""
    state = tmp_path_factory.mktemp("state")
    built = build_api(str(state), database_url(request.param))
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


@pytest.fixture(scope="session")
def barbican(keystone: KeystoneServer) -> Iterator[BarbicanServer]:
    """A real Barbican for the whole session (``tests/barbican_server.py``), the catalog's
    ``key-manager`` (a module that registers another one calls ``register()`` again)."""
    if not barbican_available():
        pytest.skip("Barbican is not installed in tests/peers/.venv (make python-deps)")
    with BarbicanServer(keystone) as server:
        yield server


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    stop_servers()
