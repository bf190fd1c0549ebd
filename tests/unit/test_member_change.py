"""A member change applied to the tree of the revision before (lbaas.core.tree.MemberChange):
what the server's own tree would be, or None whenever the agent must fetch that tree instead.

The server side, that the result equals the tree the server builds, is
tests/functional/test_member_change_tree.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from lbaas.core.tree import LoadBalancerTree, MemberChange, MemberNode, parse_tree, settled
from tests.unit.agent_doubles import make_tree


def _tree(revision: int = 4, **overrides: Any) -> LoadBalancerTree:
    raw = make_tree("lb1", status="PENDING_UPDATE", revision=revision, **overrides)
    tree = parse_tree(raw)
    assert tree is not None
    return tree


def _change(revision: int = 5, **member: Any) -> MemberChange:
    fields = {"id": "m2", "address": "10.0.0.12", "protocol_port": 80,
              "provisioning_status": "PENDING_CREATE"} | member
    return MemberChange(revision=revision, provisioning_status="PENDING_UPDATE",
                        pool_id="pool-1", member=MemberNode(**fields))


def test_a_new_member_is_added_last_and_everything_else_settles() -> None:
    held = _tree()
    held = held.model_copy(update={"pools": [held.pools[0].model_copy(update={
        "members": [held.pools[0].members[0].model_copy(
            update={"provisioning_status": "PENDING_CREATE"})]})]})
    built = _change().apply_to(held)
    assert built is not None
    assert built.revision == 5 and built.provisioning_status == "PENDING_UPDATE"
    members = built.pools[0].members
    assert [(m.id, m.provisioning_status) for m in members] == [
        ("m1", "ACTIVE"), ("m2", "PENDING_CREATE")]
    assert built.pools[0].provisioning_status == "ACTIVE"
    assert built.has_pending()


def test_an_updated_member_replaces_its_node_in_place() -> None:
    held = _tree()
    built = _change(id="m1", address="10.0.0.11", weight=0,
                    provisioning_status="PENDING_UPDATE").apply_to(held)
    assert built is not None
    assert [(m.id, m.weight) for m in built.pools[0].members] == [("m1", 0)]


def test_a_member_deleted_by_the_previous_change_is_gone() -> None:
    held = _tree()
    pool = held.pools[0]
    held = held.model_copy(update={"pools": [pool.model_copy(update={"members": [
        pool.members[0].model_copy(update={"provisioning_status": "PENDING_DELETE"})]})]})
    built = _change().apply_to(held)
    assert built is not None
    assert [m.id for m in built.pools[0].members] == ["m2"]


@pytest.mark.parametrize("revision", [4, 6, 7])
def test_only_the_revision_right_before_is_built_on(revision: int) -> None:
    assert _change(revision=revision).apply_to(_tree(revision=4)) is None


def test_a_tree_without_a_revision_is_not_built_on() -> None:
    assert _change().apply_to(_tree().model_copy(update={"revision": None})) is None


def test_a_pool_the_held_tree_lacks_means_a_fetch() -> None:
    change = _change().model_copy(update={"pool_id": "pool-9"})
    assert change.apply_to(_tree()) is None


@pytest.mark.parametrize("where", ["pool", "listener", "monitor"])
def test_anything_but_a_member_being_deleted_means_a_fetch(where: str) -> None:
    """Closing such a deletion changes other objects (a listener loses its default pool)."""
    raw = make_tree("lb1", status="PENDING_UPDATE", revision=4)
    pool = raw["pools"][0]
    if where == "pool":
        pool["provisioning_status"] = "PENDING_DELETE"
    elif where == "monitor":
        pool["healthmonitor"] = {"id": "hm", "type": "TCP", "delay": 5, "timeout": 3,
                                 "max_retries": 3, "provisioning_status": "PENDING_DELETE"}
    else:
        raw["listeners"] = [{"id": "li", "protocol": "HTTP", "protocol_port": 80,
                             "default_pool_id": "pool-1", "provisioning_status": "PENDING_DELETE"}]
    held = parse_tree(raw)
    assert held is not None
    assert settled(held) is None
    assert _change().apply_to(held) is None


def test_the_copies_of_a_pair_come_from_the_change() -> None:
    copies = [{"id": f"a{i}", "position": i, "host": f"node-{i}", "vrrp_ip": f"10.0.0.{20 + i}",
               "vrrp_priority": 100 - i, "status": "PENDING_CREATE"} for i in range(2)]
    held = _tree(amphorae=copies, topology="ACTIVE_STANDBY")
    change = _change().model_copy(update={"amphorae": [
        a.model_copy(update={"status": "ALLOCATED"}) for a in held.amphorae]})
    built = change.apply_to(held)
    assert built is not None
    assert [a.status for a in built.amphorae] == ["ALLOCATED", "ALLOCATED"]
