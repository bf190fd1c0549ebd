"""Query-string parsing for collection GETs and the ``<collection>_links`` of a page.

Understands limit, marker, page_reverse, sort (``k:dir,k2``), sort_key/sort_dir, fields, tags,
tags-any, not-tags, not-tags-any, and equality filters on any scalar attribute. Anything it cannot
honour is a 400 that says which parameter is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request

from lbaas.core.errors import InvalidInput
from lbaas.db.listing import (
    ALIASES,
    ListError,
    ListQuery,
    coerce,
    coerce_value,
    filterable_columns,
)

PAGING_PARAMS = {"limit", "marker", "page_reverse", "sort", "sort_key", "sort_dir", "fields"}
TAG_PARAMS = {"tags": "tags_all", "tags-any": "tags_any", "not-tags": "not_tags_all",
              "not-tags-any": "not_tags_any"}


def _split(values: list[str]) -> list[str]:
    return [v for raw in values for v in raw.split(",") if v]


def parse_list_query(params: QueryParams, model: type, max_limit: int,
                     view_fields: set[str], extra_filters: dict[str, str] | None = None
                     ) -> ListQuery:
    """Build a ListQuery for ``model`` from ``params``; InvalidInput (400) when a value is bad.

    ``extra_filters`` maps additional query names to column names for this resource.
    """
    cols = filterable_columns(model)
    aliases = {**ALIASES, **(extra_filters or {})}
    q = ListQuery()
    try:
        _parse_paging(params, q, max_limit)
        _parse_sort(params, q, cols, aliases)
        for key in params:
            if key in PAGING_PARAMS:
                continue
            if key in TAG_PARAMS:
                setattr(q, TAG_PARAMS[key], _split(params.getlist(key)))
                continue
            column = aliases.get(key, key)
            if column not in cols or (key not in view_fields and key not in aliases):
                raise ListError(f"'{key}' is not an attribute that can be filtered on")
            q.filters[column] = coerce(cols[column], params[key])
        _parse_fields(params, q, view_fields)
    except ListError as exc:
        raise InvalidInput(f"Invalid list query: {exc}.") from None
    return q


def parse_view_query(params: QueryParams, max_limit: int, field_types: Mapping[str, type],
                     extra_filters: Mapping[str, type] | None = None) -> ListQuery:
    """A ListQuery over views computed in Python (:func:`lbaas.db.listing.list_items`): sort
    keys and equality filters are the view's fields (``field_types``: name -> Python type of
    its values) and ``extra_filters`` (filters the service applies itself); 400 otherwise."""
    filterable = {**field_types, **(extra_filters or {})}
    q = ListQuery()
    try:
        _parse_paging(params, q, max_limit)
        _parse_sort(params, q, field_types, {})
        for key in params:
            if key in PAGING_PARAMS:
                continue
            if key in TAG_PARAMS:
                raise ListError("these objects have no tags")
            if key not in filterable:
                raise ListError(f"'{key}' is not an attribute that can be filtered on")
            q.filters[key] = coerce_value(filterable[key], params[key])
        _parse_fields(params, q, set(field_types))
    except ListError as exc:
        raise InvalidInput(f"Invalid list query: {exc}.") from None
    return q


def _parse_fields(params: QueryParams, q: ListQuery, view_fields: set[str]) -> None:
    fields = _split(params.getlist("fields"))
    if fields:
        unknown = [f for f in fields if f not in view_fields]
        if unknown:
            raise ListError(f"unknown field(s) in fields: {', '.join(unknown)}")
        q.fields = fields


def _parse_paging(params: QueryParams, q: ListQuery, max_limit: int) -> None:
    raw_limit = params.get("limit")
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise ListError(f"limit '{raw_limit}' is not an integer") from None
        if limit < 1:
            raise ListError("limit must be a positive integer")
        q.limit = min(limit, max_limit)
    else:
        q.limit = max_limit
    q.marker = params.get("marker") or None
    reverse = params.get("page_reverse")
    if reverse is not None:
        if reverse.lower() not in ("true", "false"):
            raise ListError("page_reverse must be true or false")
        q.page_reverse = reverse.lower() == "true"


def _parse_sort(params: QueryParams, q: ListQuery, cols: Mapping[str, Any],
                aliases: Mapping[str, str]) -> None:
    pairs: list[tuple[str, str]] = []
    if "sort" in params:
        for item in _split(params.getlist("sort")):
            key, _, direction = item.partition(":")
            pairs.append((key, direction or "asc"))
    else:
        keys = _split(params.getlist("sort_key"))
        dirs = _split(params.getlist("sort_dir"))
        if dirs and not keys:
            keys = ["created_at"]
        for i, key in enumerate(keys):
            pairs.append((key, dirs[i] if i < len(dirs) else (dirs[-1] if dirs else "asc")))
    for key, direction in pairs:
        column = aliases.get(key, key)
        if column not in cols:
            raise ListError(f"cannot sort on '{key}'")
        if direction not in ("asc", "desc"):
            raise ListError(f"sort direction '{direction}' must be asc or desc")
        q.sort.append((column, direction))


def fixed_list(params: QueryParams, items: list[dict[str, Any]], view_fields: set[str],
               filters: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """A collection that is no table (providers, a provider's capabilities), as Octavia lists
    it: equality filters on the attributes named in ``filters``, then ``fields`` (an unknown
    one is a 400, as on every collection); other parameters are ignored, as Octavia does."""
    for key in filters:
        if key in params:
            items = [item for item in items if str(item.get(key)) == params[key]]
    fields = _split(params.getlist("fields"))
    unknown = [f for f in fields if f not in view_fields]
    if unknown:
        raise InvalidInput(f"Invalid list query: unknown field(s) in fields: "
                           f"{', '.join(unknown)}.")
    return select_fields(items, fields)


def select_fields(items: list[dict[str, Any]], fields: list[str] | None) -> list[dict[str, Any]]:
    """Keep only the requested attributes (``fields=``) of each item."""
    if not fields:
        return items
    return [{k: item[k] for k in fields if k in item} for item in items]


def page_links(request: Request, collection: str, items: list[dict[str, Any]], q: ListQuery,
               more: bool, base_url: str, key: str = "id") -> list[dict[str, str]]:
    """``next``/``previous`` links for a page, as Octavia builds them (markers name ``key``)."""
    links: list[dict[str, str]] = []
    if not items:
        return links
    kept = [(k, v) for k, v in request.query_params.multi_items()
            if k not in ("marker", "page_reverse")]
    path = f"{base_url.rstrip('/')}{request.url.path}"
    forward_more = more if not q.page_reverse else q.marker is not None
    backward_more = q.marker is not None if not q.page_reverse else more
    if forward_more:
        params = [*kept, ("marker", items[-1][key])]
        links.append({"href": f"{path}?{urlencode(params)}", "rel": "next"})
    if backward_more:
        params = [*kept, ("marker", items[0][key]), ("page_reverse", "True")]
        links.append({"href": f"{path}?{urlencode(params)}", "rel": "previous"})
    return links
