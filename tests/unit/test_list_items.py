"""``list_items``: the list query over objects computed in Python (the amphorae, whose
synthesized ids are no column) filters, orders and pages as the SQL lists do."""

from __future__ import annotations

from typing import Any

import pytest

from lbaas.db.listing import ListError, ListQuery, list_items

ITEMS = [
    {"id": "a", "created_at": "2026-01-01T00:00:03", "role": "MASTER", "priority": 100},
    {"id": "b", "created_at": "2026-01-01T00:00:01", "role": None, "priority": None},
    {"id": "c", "created_at": "2026-01-01T00:00:02", "role": "BACKUP", "priority": 90},
    {"id": "d", "created_at": "2026-01-01T00:00:02", "role": "STANDALONE", "priority": None},
]


def ids(q: ListQuery, find: Any = lambda marker: None) -> tuple[list[str], bool]:
    page, more = list_items(ITEMS, q, find)
    return [item["id"] for item in page], more


def test_default_order_is_creation_then_id() -> None:
    assert ids(ListQuery()) == (["b", "c", "d", "a"], False)


def test_equality_filters_on_any_field() -> None:
    assert ids(ListQuery(filters={"role": "BACKUP"})) == (["c"], False)
    assert ids(ListQuery(filters={"priority": 100, "role": "MASTER"})) == (["a"], False)
    assert ids(ListQuery(filters={"role": "FAULT"})) == ([], False)


def test_nulls_come_first_ascending_and_last_descending() -> None:
    assert ids(ListQuery(sort=[("priority", "asc")])) == (["b", "d", "c", "a"], False)
    assert ids(ListQuery(sort=[("priority", "desc")])) == (["a", "c", "d", "b"], False)


def test_pages_forward_and_back_from_a_marker() -> None:
    assert ids(ListQuery(limit=2)) == (["b", "c"], True)
    assert ids(ListQuery(limit=2, marker="c")) == (["d", "a"], False)
    assert ids(ListQuery(limit=1, marker="d", page_reverse=True)) == (["c"], True)
    assert ids(ListQuery(limit=5, marker="d", page_reverse=True)) == (["b", "c"], False)


def test_a_marker_the_filters_leave_out_is_looked_up() -> None:
    outside = {"id": "z", "created_at": "2026-01-01T00:00:02", "role": "MASTER"}
    q = ListQuery(filters={"role": "BACKUP"}, marker="z")
    assert ids(q, {"z": outside}.get) == ([], False)  # c sorts before z (same time, id)
    with pytest.raises(ListError, match="marker nowhere could not be found"):
        ids(ListQuery(marker="nowhere"))


def test_tag_filters_are_refused() -> None:
    with pytest.raises(ListError, match="no tags"):
        ids(ListQuery(tags_any=["x"]))
