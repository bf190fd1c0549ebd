"""The commands that are alike for every resource kind, made from its :class:`Kind`: ``show``,
``delete`` and ``stats``, and the frame of ``list`` (whose filters each kind declares)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

import typer

from lbaas.cli import output
from lbaas.cli.kinds import Kind
from lbaas.cli.params import TAG_FILTERS, argument, list_query
from lbaas.cli.resolve import find
from lbaas.cli.session import Call, Command, Obj, command

Filters = Callable[..., dict[str, Any]]


def _naming(kind: Kind) -> list[Kind]:
    """The kinds of the arguments that name one ``kind`` object: for a nested kind, its parent's
    first."""
    return [kind.parent, kind] if kind.nested and kind.parent else [kind]


def _arguments(kinds: Sequence[Kind]) -> list[inspect.Parameter]:
    return [inspect.Parameter(k.command, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              annotation=Annotated[str, argument(k)]) for k in kinds]


def _add(app: typer.Typer, name: str, kind: Kind, doc: str, func: Command, *,
         output: bool = True, wait: bool = False) -> None:
    """Register ``func(call, **names)`` as command ``name``, with help ``doc``, taking the
    arguments that name one ``kind`` object (``names``, by their kind's ``command``)."""
    _declare(func, _arguments(_naming(kind)), doc)
    command(app, name, output=output, wait=wait)(func)


def _declare(func: Command, params: Sequence[inspect.Parameter], doc: str | None) -> None:
    """Declare that ``func(call, **values)`` takes ``params`` after the call, with help ``doc``."""
    call = inspect.Parameter("call", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    func.__signature__ = inspect.Signature([call, *params])  # type: ignore[attr-defined]
    func.__doc__ = doc


def _locate(call: Call, kind: Kind, names: Mapping[str, str]) -> tuple[Obj, Obj | None]:
    return call.locate(kind, *(names[k.command] for k in _naming(kind)))


def add_show(app: typer.Typer, kind: Kind, doc: str) -> None:
    """Add ``show`` (one ``kind`` object) to ``app``."""
    def show(call: Call, **names: str) -> None:
        call.show(_locate(call, kind, names)[0])

    _add(app, "show", kind, doc, show)


def add_delete(app: typer.Typer, kind: Kind, doc: str) -> None:
    """Add ``delete`` (one ``kind`` object; ``--wait``: until its load balancer is ACTIVE)."""
    def delete(call: Call, **names: str) -> None:
        obj, parent = _locate(call, kind, names)
        parent_id = None if parent is None else str(parent["id"])
        # A top-level object's load balancer is looked up while the object still exists; a
        # nested one's (its parent's) after the delete, as create and set do.
        lb_id = call.loadbalancer_of(kind, obj) if parent is None else None
        call.api.delete(kind.item_path(str(obj["id"]), parent_id))
        call.settle(lb_id if parent is None else call.loadbalancer_of(kind, obj, parent))

    _add(app, "delete", kind, doc, delete, output=False, wait=True)


def add_stats(app: typer.Typer, kind: Kind, doc: str) -> None:
    """Add ``stats`` (the traffic statistics of one ``kind`` object)."""
    def stats(call: Call, **names: str) -> None:
        obj_id = str(_locate(call, kind, names)[0]["id"])
        call.show(call.api.get(f"{kind.item_path(obj_id)}/stats")["stats"])

    _add(app, "stats", kind, doc, stats)


def lister(app: typer.Typer, kind: Kind) -> Callable[[Filters], Filters]:
    """Make the decorated function the ``list`` command of ``kind`` (with its docstring).

    The function takes the API client and the command's own filter options, and returns the
    attributes to filter by (``None``: not given). The command takes, in this order, the parent
    argument of a nested kind, those options, the tag filters and the common options; it prints
    the objects found.
    """
    parents = _naming(kind)[:-1]

    def register(filters: Filters) -> Filters:
        own = list(inspect.signature(filters, eval_str=True).parameters.values())[1:]

        def list_(call: Call, **values: Any) -> None:
            tags = {p.name: values.pop(p.name) for p in TAG_FILTERS}
            parent_id = None
            for parent in parents:
                parent_id = str(find(call.api, parent, values.pop(parent.command))["id"])
            query = list_query(**tags, **filters(call.api, **values))
            items = call.api.list(kind.path(parent_id), kind.plural, query)
            output.show_list(items, kind.columns, call.fmt, call.column)

        _declare(list_, [*_arguments(parents), *own, *TAG_FILTERS], filters.__doc__)
        command(app, "list")(list_)
        return filters

    return register

