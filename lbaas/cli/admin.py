"""Operator commands: ``server``, ``db upgrade``, ``token create|delete``, ``secret-key create``,
``metrics-token create``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lbaas.cli.options import cli_config, config_paths
from lbaas.core.roles import VALID_ROLES

console = Console()
ConfigOpt = Annotated[list[Path] | None, typer.Option(
    "--config-file", "-c", help="oslo.config file(s); default /etc/lbaas/lbaas.conf if present.")]


def register(app: typer.Typer) -> None:
    """Attach the operator commands to ``app``."""
    app.command(help="Run the API server (uvicorn).")(server)
    db = typer.Typer(help="Database schema.", no_args_is_help=True)
    db.command("upgrade", help="Create or upgrade the schema to the latest revision.")(db_upgrade)
    app.add_typer(db, name="db")
    token = typer.Typer(help="API tokens.", no_args_is_help=True)
    token.command("create", help="Create a token and print its secret (shown only once).")(
        token_create)
    token.command("delete", help="Revoke a token by name.")(token_delete)
    app.add_typer(token, name="token")
    key = typer.Typer(help="The secret store's encryption key ([key_manager]).",
                      no_args_is_help=True)
    key.command("create", help="Create the key file [key_manager] encryption_key_file names "
                "(mode 0600; never overwrites one).")(secret_key_create)
    app.add_typer(key, name="secret-key")
    scrape = typer.Typer(help="The bearer token Prometheus scrapes /metrics with ([metrics]).",
                         no_args_is_help=True)
    scrape.command("create", help="Create the token file [metrics] token_file names (mode "
                   "0600; never overwrites one); copy it to every server, agent and "
                   "Prometheus.")(metrics_token_create)
    app.add_typer(scrape, name="metrics-token")


def server(config_file: ConfigOpt = None,
           port: Annotated[int | None, typer.Option(help="Override [api] bind_port.")] = None,
           host: Annotated[str | None, typer.Option(help="Override [api] bind_host.")] = None,
           ) -> None:
    from lbaas.api.serve import serve
    from lbaas.config import load_config
    from lbaas.observability.logging import setup_logging

    overrides: dict[str, dict[str, object]] = {"api": {}}
    if port is not None:
        overrides["api"]["bind_port"] = port
    if host is not None:
        overrides["api"]["bind_host"] = host
    from lbaas.core.private_files import PrivateFileError
    from lbaas.core.scrape_token import configured_token
    from lbaas.services.secret_source import SecretBackendError, make_secret_source

    paths = config_paths(config_file)
    conf = load_config(paths, overrides)
    setup_logging(conf.log_level, conf.log_json)
    try:
        make_secret_source(conf)
        configured_token(conf.metrics.token_file)
    except (PrivateFileError, SecretBackendError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    serve(conf, paths, overrides)


def secret_key_create(config_file: ConfigOpt = None) -> None:
    from lbaas.services.secret_cipher import create_key_file

    conf = cli_config(config_file)
    _create_private_file(conf.key_manager.encryption_key_file, create_key_file,
                         "it keeps its key (replacing it would make every stored secret "
                         "unreadable)", "the secret store's key file")


def metrics_token_create(config_file: ConfigOpt = None) -> None:
    from lbaas.core.scrape_token import create_token_file

    conf = cli_config(config_file)
    path = conf.metrics.token_file
    if not path:
        console.print("[red]error:[/red] \\[metrics] token_file is empty: set it to the file "
                      "to create (e.g. /etc/lbaas/metrics.token)")
        raise typer.Exit(1)
    _create_private_file(path, create_token_file, "it keeps its token (servers, agents and "
                         "Prometheus may already use it)", "the metrics scrape token file")


def _create_private_file(path: str, create: Callable[[str], object], kept: str,
                         what: str) -> None:
    """Create ``path`` with ``create`` (0600, never over an existing file); exit 1 saying why
    when it exists (``kept``) or cannot be written."""
    try:
        create(path)
    except FileExistsError:
        console.print(f"[red]error:[/red] {escape(path)} exists; {kept}")
        raise typer.Exit(1) from None
    except OSError as exc:
        console.print(f"[red]error:[/red] cannot create {escape(path)}: {exc.strerror}")
        raise typer.Exit(1) from None
    console.print(f"created {what} {escape(path)} (mode 0600)")


def db_upgrade(config_file: ConfigOpt = None) -> None:
    from lbaas.config import database_url
    from lbaas.db.engine import make_engine
    from lbaas.db.migrate import upgrade

    conf = cli_config(config_file)
    upgrade(make_engine(database_url(conf)))
    console.print("[green]database is at the latest revision[/green]")


def token_create(project: Annotated[str, typer.Option(help="Project the token acts in.")],
                 role: Annotated[list[str], typer.Option(
                     help=f"Role(s): {', '.join(VALID_ROLES)}.")],
                 name: Annotated[str | None, typer.Option(help="Token name (HTTP Basic user).")]
                 = None,
                 output: Annotated[str, typer.Option("--format", "-f",
                                                     help="value | json | table")] = "value",
                 config_file: ConfigOpt = None) -> None:
    from lbaas.config import database_url
    from lbaas.db.engine import make_engine, make_session_factory, write_session
    from lbaas.db.migrate import upgrade
    from lbaas.services.tokens import create_token

    conf = cli_config(config_file)
    engine = make_engine(database_url(conf))
    upgrade(engine)
    try:
        with write_session(make_session_factory(engine)) as session:
            token, secret = create_token(session, project, role, name)
            token_name = token.name
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if output == "json":
        print(json.dumps({"name": token_name, "project_id": project, "roles": role,
                          "token": secret}))
    elif output == "table":
        table = Table("name", "project", "roles", "token")
        table.add_row(token_name, project, ",".join(role), secret)
        console.print(table)
    else:
        print(secret)


def token_delete(name: str, config_file: ConfigOpt = None) -> None:
    from lbaas.config import database_url
    from lbaas.db.engine import make_engine, make_session_factory, write_session
    from lbaas.services.tokens import revoke_token

    conf = cli_config(config_file)
    engine = make_engine(database_url(conf))
    with write_session(make_session_factory(engine)) as session:
        found = revoke_token(session, name)
    if not found:
        console.print(f"[red]no token named {name}[/red]")
        raise typer.Exit(1)
    console.print(f"token {name} revoked")
