"""Request ids across threads and RPC: validated, bound to the logging context, carried in RPC
contexts.

One id follows a change from the API (``X-Openstack-Request-Id``) through the cast to the agent,
the agent's work queue and its reports back to the server, so that every log line the change
causes carries it in its ``request_id`` field (:mod:`lbaas.observability.logging` reads the
context variable held here). A context variable does not follow work to another thread by
itself: where work changes threads (the agent's work queue) the id is handed over explicitly.
Work nobody asked for (the agent's syncs, stats and heartbeats, the server's housekeeping) runs
under an id of its own, generated per pass, so the field is never empty.

An id read from outside (an HTTP header, an RPC context) is used only if it has the
``req-<uuid>`` form (or, for work merged from several requests, a few such ids joined by
``,``): nothing else reaches a log line.
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from lbaas.core.context import new_request_id

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_ONE_ID = re.compile(r"req-[0-9a-f-]{36}")
MAX_MERGED = 8
"""Ids one piece of merged work keeps (the latest ones): bounds the size of a log line."""
SEPARATOR = ","
"""Between the ids of merged work in one ``request_id`` field."""
CONTEXT_KEY = "request_id"
"""The key of the request id in an RPC context dict."""

F = TypeVar("F", bound=Callable[..., Any])


def current_request_id() -> str:
    """The id of the request being handled in this context ('' outside requests)."""
    return _request_id.get()


def bind_request_id(request_id: str) -> contextvars.Token[str]:
    """Make ``request_id`` current in this context; undo with :func:`reset_request_id`."""
    return _request_id.set(request_id)


def reset_request_id(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)


def is_valid(request_id: str) -> bool:
    """True for one ``req-<uuid>``-like id (the only form the API accepts from clients)."""
    return _ONE_ID.fullmatch(request_id) is not None


def valid_or_empty(value: object) -> str:
    """``value`` if it is one valid id or up to :data:`MAX_MERGED` of them joined by
    :data:`SEPARATOR`, else ''."""
    if not isinstance(value, str) or not value:
        return ""
    ids = value.split(SEPARATOR)
    if len(ids) > MAX_MERGED or not all(is_valid(one) for one in ids):
        return ""
    return value


def merge(ids: list[str], request_id: str) -> list[str]:
    """``ids`` with the ids of ``request_id`` (one or joined) appended, without duplicates,
    keeping the latest :data:`MAX_MERGED`."""
    merged = list(ids)
    for one in request_id.split(SEPARATOR) if request_id else ():
        if one in merged:
            merged.remove(one)
        merged.append(one)
    return merged[-MAX_MERGED:]


def joined(ids: list[str]) -> str:
    """The ``request_id`` field of work merged from ``ids`` ('' for none)."""
    return SEPARATOR.join(ids)


@contextmanager
def request_scope(request_id: str = "") -> Iterator[str]:
    """Bind ``request_id`` (a new ``req-<uuid>`` if empty) for the block; yields it."""
    bound = request_id or new_request_id()
    token = bind_request_id(bound)
    try:
        yield bound
    finally:
        reset_request_id(token)


def from_rpc_context(context: object) -> str:
    """The valid request id of an RPC context dict, or ''."""
    if not isinstance(context, dict):
        return ""
    return valid_or_empty(context.get(CONTEXT_KEY))


def rpc_context() -> dict[str, str]:
    """The context of an outgoing RPC message: the current request id."""
    return {CONTEXT_KEY: current_request_id()}


def bound_from_rpc(method: F) -> F:
    """Decorate an RPC endpoint method ``(self, ctx, ...)``: it runs with the request id of
    ``ctx`` bound (a new one if the caller sent none or an invalid one)."""

    @functools.wraps(method)
    def wrapper(self: Any, ctx: Any, *args: Any, **kwargs: Any) -> Any:
        with request_scope(from_rpc_context(ctx)):
            return method(self, ctx, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
