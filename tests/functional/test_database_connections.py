"""Pooled connections that the database server dropped (PostgreSQL, MariaDB): pinged away when
idle, else a 503 that the next request recovers from."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from lbaas.db import engine as engine_module
from tests.databases import database_url
from tests.functional.harness import Api, build_api, close_api


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("mariadb", marks=pytest.mark.mariadb)])
def server_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Api, str]]:
    url = database_url(request.param)
    built = build_api(str(tmp_path_factory.mktemp("state")), url)
    try:
        yield built, url
    finally:
        close_api(built)


def _drop_server_connections(url: str) -> int:
    """End every other session on the test database, as a restart would."""
    admin = create_engine(url)
    try:
        with admin.connect() as conn:
            if admin.dialect.name == "postgresql":
                return int(conn.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )).scalar_one())
            others = conn.execute(text(
                "SELECT id FROM information_schema.processlist "
                "WHERE db = DATABASE() AND id <> CONNECTION_ID()")).scalars().all()
            for session_id in others:
                conn.execute(text(f"KILL {int(session_id)}"))
            return len(others)
    finally:
        admin.dispose()


def test_idle_dropped_connections_are_replaced_before_use(
        server_api: tuple[Api, str], monkeypatch: pytest.MonkeyPatch) -> None:
    api, url = server_api
    api.create_lb(name="before")
    assert _drop_server_connections(url) >= 1
    monkeypatch.setattr(engine_module, "IDLE_PING_S", 0.0)  # every pooled connection is "idle"
    time.sleep(0.05)

    for _ in range(3):
        r = api.member.get("/loadbalancers")
        assert r.status_code == 200, r.text
        assert [lb["name"] for lb in r.json()["loadbalancers"]] == ["before"]


def test_connection_dropped_while_busy_gives_503_then_recovers(
        server_api: tuple[Api, str], monkeypatch: pytest.MonkeyPatch) -> None:
    api, url = server_api
    api.create_lb(name="before")
    monkeypatch.setattr(engine_module, "IDLE_PING_S", 3600.0)  # no ping: as if just used
    api.member.get("/loadbalancers")
    assert _drop_server_connections(url) >= 1

    first = api.member.get("/loadbalancers")
    assert first.status_code == 503, first.text
    assert first.json()["faultstring"] == "The database is unavailable; retry the request."
    assert first.json()["faultcode"] == "Server"

    again = api.member.get("/loadbalancers")
    assert again.status_code == 200, again.text
    assert [lb["name"] for lb in again.json()["loadbalancers"]] == ["before"]
