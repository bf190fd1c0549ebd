"""Running one resource command: the API client, error reporting (exit 1), printing the result
and ``--wait``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer

from lbaas.cli import output
from lbaas.cli.choices import OutputFormat
from lbaas.cli.client import ApiClient, CliError
from lbaas.cli.kinds import Kind
from lbaas.cli.params import (
    CONNECTION_OPTIONS,
    OUTPUT_OPTIONS,
    WAIT_OPTIONS,
    compact,
    require_changes,
    tags_after_set,
)
from lbaas.cli.resolve import find, owning_loadbalancer
from lbaas.cli.wait import DEFAULT_WAIT_TIMEOUT, wait_for_loadbalancer

Obj = dict[str, Any]
Command = Callable[..., None]


@contextmanager
def connect(endpoint: str, token: str | None) -> Iterator[ApiClient]:
    """An API client; any :class:`CliError` inside is printed in red and exits with status 1."""
    try:
        with ApiClient(endpoint, token) as api:
            yield api
    except CliError as exc:
        output.error(str(exc))
        raise typer.Exit(1) from None


def command(app: typer.Typer, name: str, *, output: bool = True, wait: bool = False
            ) -> Callable[[Command], Command]:
    """Register the decorated function as command ``name`` of ``app``, with the common options.

    The function takes a :class:`Call`, then the command's own arguments and options (from its
    signature, or its ``__signature__``). The command takes those, then ``--os-endpoint`` and
    ``--os-token``, ``-f``/``-c`` with ``output`` and ``--wait``/``--wait-timeout`` with
    ``wait``; it runs the function connected to the API (see :func:`connect`).
    """
    settings = [*(OUTPUT_OPTIONS if output else ()), *(WAIT_OPTIONS if wait else ())]

    def register(func: Command) -> Command:
        own = list(inspect.signature(func, eval_str=True).parameters.values())[1:]

        def run(endpoint: str, token: str | None, **values: Any) -> None:
            call_settings = {p.name: values.pop(p.name) for p in settings}
            with connect(endpoint, token) as api:
                func(Call(api, **call_settings), **values)

        run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [*own, *CONNECTION_OPTIONS, *settings])
        run.__name__, run.__qualname__, run.__doc__ = func.__name__, func.__qualname__, func.__doc__
        app.command(name)(run)
        return func

    return register


@dataclass(frozen=True)
class Call:
    """One run of a resource command: its API client and what the common options asked for."""

    api: ApiClient
    fmt: OutputFormat = "table"
    column: list[str] | None = None
    wait: bool = False
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT

    def show(self, obj: Obj) -> None:
        """Print one object as ``-f`` and ``-c`` ask."""
        output.show(obj, self.fmt, self.column)

    def locate(self, kind: Kind, *idents: str) -> tuple[Obj, Obj | None]:
        """The ``kind`` object the command's arguments ``idents`` name, and its parent object.

        A nested kind (member, L7 rule) is named by two arguments, its parent's first; a
        top-level one by one, and has no parent (``None``).
        """
        if not kind.nested:
            (ident,) = idents
            return find(self.api, kind, ident), None
        assert kind.parent is not None
        parent_ident, ident = idents
        parent = find(self.api, kind.parent, parent_ident)
        return find(self.api, kind, ident, str(parent["id"])), parent

    def loadbalancer_of(self, kind: Kind, obj: Obj, parent: Obj | None = None) -> str | None:
        """The id of the load balancer ``obj`` belongs to: ``parent``'s one, if it is given."""
        if parent is not None and kind.parent is not None:
            return owning_loadbalancer(self.api, kind.parent, parent)
        return owning_loadbalancer(self.api, kind, obj)

    def settle(self, lb_id: str | None, *, gone: bool = False) -> None:
        """With ``--wait``, block until load balancer ``lb_id`` is ACTIVE again (deleted, when
        ``gone``)."""
        if self.wait and lb_id:
            wait_for_loadbalancer(self.api, lb_id, self.wait_timeout, gone=gone,
                                  console=output.stderr())

    def create(self, kind: Kind, body: Obj, parent: Obj | None = None) -> None:
        """Create a ``kind`` object from ``body`` and show it.

        ``parent`` is the object it is made under, if any (for a nested kind, the one whose
        collection it joins): ``--wait`` waits for its load balancer, else the new object's.
        """
        parent_id = _path_parent(kind, parent)
        obj = dict(self.api.post(kind.path(parent_id), {kind.key: body})[kind.key])
        self._show_settled(kind, obj, self.loadbalancer_of(kind, obj, parent), parent_id)

    def update(self, kind: Kind, current: Obj, changes: Obj, tag: list[str] | None,
               no_tag: bool, parent: Obj | None = None) -> None:
        """Send ``changes`` and the tags ``--tag``/``--no-tag`` ask for to ``current``, and show
        the result; nothing to change is a usage error (exit 2). ``parent`` as for
        :meth:`create`."""
        body = changes | compact(tags=tags_after_set(current["tags"], tag, no_tag))
        require_changes(body)
        parent_id = _path_parent(kind, parent)
        updated = self.api.put(kind.item_path(str(current["id"]), parent_id), {kind.key: body})
        self._show_settled(kind, dict(updated[kind.key]),
                           self.loadbalancer_of(kind, current, parent), parent_id)

    def _show_settled(self, kind: Kind, obj: Obj, lb_id: str | None,
                      parent_id: str | None) -> None:
        """Show ``obj``: with ``--wait``, as it is (re-read) once load balancer ``lb_id`` is
        ACTIVE again."""
        if self.wait:
            self.settle(lb_id)
            obj = dict(self.api.get(kind.item_path(str(obj["id"]), parent_id))[kind.key])
        self.show(obj)


def _path_parent(kind: Kind, parent: Obj | None) -> str | None:
    """The id that goes into a nested kind's collection path (``None`` for a top-level kind)."""
    return str(parent["id"]) if kind.nested and parent is not None else None
