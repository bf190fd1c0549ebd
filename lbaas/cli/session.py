"""Running one resource command: the API client, error reporting (exit 1) and ``--wait``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from lbaas.cli import render
from lbaas.cli.client import ApiClient, CliError
from lbaas.cli.kinds import Kind
from lbaas.cli.wait import wait_for_loadbalancer

Obj = dict[str, Any]


@contextmanager
def connect(endpoint: str, token: str | None) -> Iterator[ApiClient]:
    """An API client; any :class:`CliError` inside is printed in red and exits with status 1."""
    try:
        with ApiClient(endpoint, token) as api:
            yield api
    except CliError as exc:
        render.error(str(exc))
        raise typer.Exit(1) from None


def settle(api: ApiClient, lb_id: str | None, wait: bool, timeout: float) -> None:
    """With ``--wait``, block until load balancer ``lb_id`` is ACTIVE again."""
    if wait and lb_id:
        wait_for_loadbalancer(api, lb_id, timeout, console=render.stderr())


def settled(api: ApiClient, kind: Kind, obj: Obj, lb_id: str | None, wait: bool,
            timeout: float, parent: str | None = None) -> Obj:
    """``obj`` as it is once its load balancer settled (re-read), or as given without ``--wait``."""
    if not wait:
        return obj
    settle(api, lb_id, wait, timeout)
    return dict(api.get(kind.item_path(str(obj["id"]), parent))[kind.key])
