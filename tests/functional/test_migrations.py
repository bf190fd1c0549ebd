"""Alembic migrations build the schema the models describe, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, Engine, inspect

from lbaas.db.engine import make_engine
from lbaas.db.migrate import alembic_config, upgrade
from lbaas.db.models import Base
from tests.databases import DATABASES, database_url


@pytest.fixture(params=DATABASES)
def empty_db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return database_url(request.param, f"sqlite:///{tmp_path}/empty.sqlite")


def _schema_diff(engine: Engine) -> list[object]:
    """How the database's schema differs from the models'."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # Only the listener->pool foreign key is absent on SQLite (it cannot be ALTERed in).
    return [d for d in diff if not (d[0] == "add_fk" and d[1].name == "fk_listener_default_pool"
                                    and engine.dialect.name == "sqlite")]


def _downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_upgrade_empty_database_matches_models(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        assert _schema_diff(engine) == []
        upgrade(engine)  # idempotent
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_every_table_and_upgrade_rebuilds_them(
        empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        _downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_each_downgrade_undoes_its_upgrade(empty_db_url: str) -> None:
    """From head down to base, one revision at a time: each downgrade leaves the schema its
    upgrade found, so that upgrading again works (and ends where the models say)."""
    script = ScriptDirectory.from_config(alembic_config(empty_db_url))
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        for rev in script.walk_revisions():  # head first
            below = rev.down_revision or "base"
            assert isinstance(below, str)
            _downgrade(engine, below)
            upgrade(engine, rev.revision)
            _downgrade(engine, below)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert _schema_diff(engine) == []
    finally:
        engine.dispose()


@pytest.fixture
def mariadb_engine() -> Iterator[Engine]:
    """An engine on a new MariaDB database brought to head."""
    engine = make_engine(database_url("mariadb"))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()


@pytest.mark.mariadb
def test_every_timestamp_keeps_microseconds(mariadb_engine: Engine) -> None:
    """Creation order within a second is kept (MySQL's plain DATETIME holds whole seconds;
    Alembic's comparison does not see the difference)."""
    inspector = inspect(mariadb_engine)
    seconds_only = []
    for table in Base.metadata.sorted_tables:
        reflected = {c["name"]: c["type"] for c in inspector.get_columns(table.name)}
        seconds_only += [f"{table.name}.{column.name}" for column in table.columns
                         if isinstance(column.type, DateTime)
                         and getattr(reflected[column.name], "fsp", None) != 6]
    assert seconds_only == []


@pytest.mark.mariadb
def test_every_string_compares_exactly(mariadb_engine: Engine) -> None:
    """Every string column has a binary collation, and so will the tables of later migrations
    (the database's default): MySQL's default collations ignore case and trailing spaces."""
    with mariadb_engine.connect() as conn:
        columns = conn.exec_driver_sql(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND collation_name IS NOT NULL "
            "AND table_name <> 'alembic_version'").all()
        default = conn.exec_driver_sql("SELECT @@collation_database").scalar_one()
    assert default == "utf8mb4_nopad_bin"
    assert {table for table, _, _ in columns} >= set(Base.metadata.tables)
    assert [c for c in columns if c[2] != "utf8mb4_nopad_bin"] == []
