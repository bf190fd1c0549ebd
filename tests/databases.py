"""The databases the tests run the API on, for fixtures parametrised by database: SQLite always,
PostgreSQL and MariaDB on private servers the tests start (``tests/pg.py``, ``tests/mariadb.py``;
``-m postgres`` / ``-m mariadb`` select them, ``-m "not postgres and not mariadb"`` leaves them
out)."""

from __future__ import annotations

import pytest

DATABASES = ["sqlite",
             pytest.param("postgres", marks=pytest.mark.postgres),
             pytest.param("mariadb", marks=pytest.mark.mariadb)]
"""Parameters of a fixture or test that runs once per database."""


def database_url(database: str, sqlite_url: str = "") -> str:
    """A URL of a new, empty database of kind ``database`` (a name of :data:`DATABASES`);
    ``sqlite_url`` for SQLite ('' lets the API put its file under its state path)."""
    if database == "postgres":
        from tests.pg import postgres_url_factory

        return postgres_url_factory()
    if database == "mariadb":
        from tests.mariadb import mariadb_url_factory

        return mariadb_url_factory()
    return sqlite_url


def stop_servers() -> None:
    """Stop the database servers the session started (each even if another fails to stop)."""
    from tests.mariadb import stop_mariadb
    from tests.pg import stop_postgres

    try:
        stop_postgres()
    finally:
        stop_mariadb()
