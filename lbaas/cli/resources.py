"""Resource commands that talk to the API over HTTP: ``lbaas loadbalancer …``, ``lbaas listener …``
and the rest, mirroring ``openstack loadbalancer …``.

Every command takes ``--os-endpoint``/``--os-token`` (or ``OS_ENDPOINT``/``OS_TOKEN``,
``LBAAS_ENDPOINT``/``LBAAS_TOKEN``), prints rich tables or, with ``-f json``, plain JSON on stdout,
and exits 0 on success, 1 on an API error (reported in red on stderr) and 2 on a usage error.
"""

from __future__ import annotations

import typer

from lbaas.cli.commands import (
    healthmonitor,
    l7policy,
    l7rule,
    listener,
    loadbalancer,
    member,
    pool,
)

SUB_APPS: tuple[tuple[str, typer.Typer], ...] = (
    ("loadbalancer", loadbalancer.app),
    ("listener", listener.app),
    ("pool", pool.app),
    ("member", member.app),
    ("healthmonitor", healthmonitor.app),
    ("l7policy", l7policy.app),
    ("l7rule", l7rule.app),
)


def register(app: typer.Typer) -> None:
    """Attach resource commands to ``app``."""
    for name, sub_app in SUB_APPS:
        app.add_typer(sub_app, name=name)
