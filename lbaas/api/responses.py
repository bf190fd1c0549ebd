"""Fast JSON responses (orjson) and the list-page helper every collection GET uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request, Response
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import ExecutableOption

from lbaas.api.deps import AppServices
from lbaas.api.listing import page_links, parse_list_query, select_fields
from lbaas.core.context import RequestContext
from lbaas.core.errors import InvalidInput
from lbaas.db.engine import read_session
from lbaas.db.listing import DEFAULT_SORT, ListError, ListQuery, run_list


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(body: Any, status_code: int = 200) -> JSONBody:
    return JSONBody(body, status_code=status_code)


def no_content() -> Response:
    return Response(status_code=204)


def accepted() -> Response:
    return Response(status_code=202)


def base_url(services: AppServices, request: Request) -> str:
    return services.conf.api.public_endpoint or str(request.base_url)


@dataclass(frozen=True)
class ListShape:
    """How a collection is listed: confined to the caller's project (``scoped``) or not, the
    unique ``key`` markers name, the order when none is asked, and the links' JSON key when it
    is not ``<collection>_links``."""

    scoped: bool = True
    key: str = "id"
    default_sort: tuple[tuple[str, str], ...] = DEFAULT_SORT
    links: str | None = None


PROJECT_OWNED = ListShape()
"""A tenant's objects: only the caller's project (all for an admin), in creation order."""

CATALOG = ListShape(scoped=False, default_sort=(("id", "asc"),))
"""Objects of no project (flavors, flavor profiles): everyone allowed to list sees them all,
by id (they have no creation time), as Octavia orders them."""


def list_page(request: Request, services: AppServices, ctx: RequestContext, model: type,
              collection: str, view: Callable[[Any], dict[str, Any]] | None, view_fields: set[str],
              where: Sequence[ColumnElement[bool]] = (),
              options: Sequence[ExecutableOption] = (),
              extra_filters: dict[str, str] | None = None,
              bulk_view: Callable[[Session, list[Any]], list[dict[str, Any]]] | None = None,
              shape: ListShape = PROJECT_OWNED) -> JSONBody:
    """One page of ``model`` objects visible to ``ctx``, filtered and sorted as asked.

    ``view`` renders one ORM object; ``bulk_view`` renders plain rows all at once (faster).
    ``shape`` says what differs for objects outside projects (see :class:`ListShape`)."""
    q = parse_list_query(request.query_params, model, services.conf.api.pagination_max_limit,
                         view_fields, extra_filters)
    with read_session(services.sessions) as session:
        try:
            rows, more = run_list(session, model, q,
                                  ctx.scope_project() if shape.scoped else None, where, options,
                                  plain=bulk_view is not None, key=shape.key,
                                  default_sort=shape.default_sort)
        except ListError as exc:
            raise InvalidInput(f"Invalid list query: {exc}.") from None
        if bulk_view is not None:
            items = bulk_view(session, rows)
        else:
            assert view is not None
            items = [view(r) for r in rows]
    return page_answer(request, services, collection, items, q, more, shape)


def page_answer(request: Request, services: AppServices, collection: str,
                items: list[dict[str, Any]], q: ListQuery, more: bool,
                shape: ListShape = PROJECT_OWNED) -> JSONBody:
    """The answer of a list request: the page's ``items`` cut to ``fields``, and its links
    (also for a collection listed in Python, :func:`lbaas.db.listing.list_items`)."""
    links = page_links(request, collection, items, q, more, base_url(services, request),
                       shape.key)
    return ok({collection: select_fields(items, q.fields),
               shape.links or f"{collection}_links": links})
