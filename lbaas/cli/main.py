"""The ``lbaas`` command: run the server, manage the database and tokens, and drive the API.

Operator commands (server, up, agent, db, token) work on the local configuration and database;
resource commands (loadbalancer, listener, …) talk to the API over HTTP.
"""

from __future__ import annotations

import typer

from lbaas.cli import admin, aio, resources

app = typer.Typer(help="Load Balancing as a Service (Octavia v2 API).", no_args_is_help=True,
                  pretty_exceptions_enable=False)

admin.register(app)
aio.register(app)
resources.register(app)


if __name__ == "__main__":
    app()
