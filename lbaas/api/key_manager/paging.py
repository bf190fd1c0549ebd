"""Barbican's paging of lists: ``offset`` (default 0) and ``limit`` (default 10, at most 100),
with bad values replaced rather than refused, as Barbican's ``clean_paging_values`` does."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def paging(query: Mapping[str, str]) -> tuple[int, int]:
    """(offset, limit) of a list request."""
    try:
        offset = max(0, int(query.get("offset") or 0))
    except ValueError:
        offset = 0
    try:
        limit = min(MAX_LIMIT, max(1, int(query.get("limit") or DEFAULT_LIMIT)))
    except ValueError:
        limit = DEFAULT_LIMIT
    return offset, limit
