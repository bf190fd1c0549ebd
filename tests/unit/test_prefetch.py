"""The prefetched-tree store of a full sync (lbaas.agent.prefetch): a tree fetched in a batch is
handed to its refresh once, unless a cast about that load balancer arrived since the fetch began.
"""

from __future__ import annotations

from lbaas.agent.prefetch import PrefetchedTrees


def tree(lb_id: str, revision: int = 1) -> dict[str, object]:
    return {"id": lb_id, "revision": revision}


def test_completed_trees_are_taken_once() -> None:
    store = PrefetchedTrees()
    ticket = store.begin(["lb1", "lb2"])
    assert store.complete(ticket, {"lb1": tree("lb1"), "lb2": None}) == 2
    assert store.take("lb1") == (True, tree("lb1"))
    assert store.take("lb1") == (False, None)
    assert store.take("lb2") == (True, None)  # gone on the server: the refresh removes it
    assert len(store) == 0


def test_cast_while_the_fetch_is_in_flight_keeps_its_tree_out() -> None:
    store = PrefetchedTrees()
    ticket = store.begin(["lb1", "lb2"])
    store.invalidate("lb1")
    assert store.complete(ticket, {"lb1": tree("lb1"), "lb2": tree("lb2")}) == 1
    assert store.take("lb1") == (False, None)
    assert store.take("lb2") == (True, tree("lb2"))


def test_cast_after_the_fetch_drops_the_stored_tree() -> None:
    store = PrefetchedTrees()
    store.complete(store.begin(["lb1"]), {"lb1": tree("lb1")})
    store.invalidate("lb1")
    assert store.take("lb1") == (False, None)


def test_cast_before_the_fetch_began_does_not_matter() -> None:
    store = PrefetchedTrees()
    store.invalidate("lb1")  # the server committed, then cast: the fetch sees the change
    store.complete(store.begin(["lb1"]), {"lb1": tree("lb1", revision=2)})
    assert store.take("lb1") == (True, tree("lb1", revision=2))


def test_cast_marks_every_open_fetch_of_that_id() -> None:
    store = PrefetchedTrees()
    first, second = store.begin(["lb1"]), store.begin(["lb1", "lb2"])
    store.invalidate("lb1")
    third = store.begin(["lb1"])
    assert store.complete(first, {"lb1": tree("lb1")}) == 0
    assert store.complete(second, {"lb1": tree("lb1"), "lb2": tree("lb2")}) == 1
    assert store.complete(third, {"lb1": tree("lb1", revision=2)}) == 1
    assert store.take("lb1") == (True, tree("lb1", revision=2))


def test_unasked_ids_and_aborted_or_unknown_tickets_store_nothing() -> None:
    store = PrefetchedTrees()
    ticket = store.begin(["lb1"])
    assert store.complete(ticket, {"lb9": tree("lb9")}) == 0
    aborted = store.begin(["lb1"])
    store.abort(aborted)
    assert store.complete(aborted, {"lb1": tree("lb1")}) == 0
    assert len(store) == 0
