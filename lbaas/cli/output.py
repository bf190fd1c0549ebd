"""Printing results: rich tables (default), plain JSON (``-f json``) or bare values (``-f value``).

Results go to stdout and nothing else does: messages, errors and spinners go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from lbaas.cli.choices import OutputFormat
from lbaas.core.status import Operating, Provisioning

Obj = dict[str, Any]

UNWRAPPED_WIDTH = 1000
STATUS_STYLES: dict[str, str] = {
    Provisioning.ACTIVE: "green", Operating.ONLINE: "green", Provisioning.ERROR: "bold red",
    Operating.OFFLINE: "red", Operating.DEGRADED: "yellow", Operating.DRAINING: "yellow",
    Operating.NO_MONITOR: "cyan"}


def stdout() -> Console:
    """A console on the current stdout (looked up at call time, so test runners can capture).

    When stdout is not a terminal, lines are not wrapped at 80 columns: tables keep whole IDs
    for ``grep`` and ``awk``.
    """
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = UNWRAPPED_WIDTH
    return console


def stderr() -> Console:
    """A console on the current stderr."""
    return Console(stderr=True, highlight=False)


def error(message: str) -> None:
    """Print an error in red on stderr."""
    stderr().print(Text(f"Error: {message}", style="bold red"), soft_wrap=True)


def cell(value: Any) -> str:
    """One attribute as text: ids of references, ``k=v`` for dicts, one line per list item."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict):
        return ", ".join(f"{k}={cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "\n".join(str(v["id"]) if isinstance(v, dict) and set(v) == {"id"} else cell(v)
                         for v in value)
    return str(value)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout, and nothing else."""
    typer.echo(json.dumps(data, indent=2))


def pick(obj: Obj, columns: Sequence[str]) -> Obj:
    """Only ``columns`` of ``obj``, in that order."""
    return {c: obj.get(c) for c in columns}


def check_columns(available: Sequence[str], columns: Sequence[str]) -> None:
    """A usage error (exit 2) when a ``-c`` column is not an attribute of the objects."""
    unknown = [c for c in columns if c not in available]
    if unknown and available:
        raise typer.BadParameter(f"unknown column(s) {', '.join(unknown)}; available: "
                                 f"{', '.join(sorted(available))}", param_hint="'-c'")


def show(obj: Obj, fmt: OutputFormat = "table", columns: Sequence[str] | None = None) -> None:
    """One object: a Field/Value table, a JSON object, or its values one per line."""
    if columns:
        check_columns(list(obj), columns)
    fields = list(columns) if columns else sorted(obj)
    if fmt == "json":
        print_json(pick(obj, fields) if columns else obj)
    elif fmt == "value":
        for field in fields:
            typer.echo(cell(obj.get(field)))
    else:
        table = Table("Field", "Value", box=box.SQUARE, show_lines=False)
        for field in fields:
            table.add_row(field, cell(obj.get(field)))
        stdout().print(table)


def show_list(items: list[Obj], default_columns: Sequence[str], fmt: OutputFormat = "table",
              columns: Sequence[str] | None = None) -> None:
    """Several objects: a table, a JSON list (whole objects unless ``-c``), or value rows."""
    if columns and items:
        check_columns(list(items[0]), columns)
    chosen = list(columns or default_columns)
    if fmt == "json":
        print_json([pick(i, chosen) for i in items] if columns else items)
    elif fmt == "value":
        for item in items:
            typer.echo(" ".join(cell(item.get(c)).replace("\n", ",") for c in chosen))
    else:
        table = Table(*chosen, box=box.SQUARE)
        for column in table.columns:
            column.overflow = "fold"
        for item in items:
            table.add_row(*(cell(item.get(c)) for c in chosen))
        stdout().print(table)


def _status_label(kind: str, node: Obj) -> Text:
    """``kind name (id)`` followed by its coloured statuses."""
    label = Text(f"{kind} ", style="bold")
    name = node.get("name") or ""
    label.append(f"{name} " if name else "")
    label.append(f"({node.get('id', '?')})", style="dim")
    for key in ("provisioning_status", "operating_status"):
        value = str(node.get(key, ""))
        if value:
            label.append(" ")
            label.append(value, style=STATUS_STYLES.get(value, "yellow"))
    return label


def _pool_branch(parent: Tree, pool: Obj) -> None:
    branch = parent.add(_status_label("pool", pool))
    monitor = pool.get("health_monitor")
    if monitor:
        branch.add(_status_label(f"healthmonitor {monitor.get('type', '')}", monitor))
    for member in pool.get("members", []):
        where = f"{member.get('address', '')}:{member.get('protocol_port', '')}"
        branch.add(_status_label(f"member {where}", member))


def status_tree(statuses: Obj, fmt: OutputFormat = "table") -> None:
    """The ``/status`` document: JSON as the API sends it, or a tree of coloured statuses
    (listeners, the pools each uses, their monitor and members: Octavia's shape)."""
    if fmt != "table":
        print_json(statuses)
        return
    lb = statuses.get("statuses", {}).get("loadbalancer", {})
    tree = Tree(_status_label("loadbalancer", lb))
    for listener in lb.get("listeners", []):
        branch = tree.add(_status_label("listener", listener))
        for pool in listener.get("pools", []):
            _pool_branch(branch, pool)
    stdout().print(tree)
