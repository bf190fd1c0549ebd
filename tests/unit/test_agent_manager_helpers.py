"""Helpers the agent manager relies on: bridge mappings (lbaas.agent.bridges) and what a tree
tells it (``LoadBalancerTree.has_pending``, ``parse_tree`` rejecting a tree it cannot read)."""

from __future__ import annotations

import pytest

from lbaas.agent.bridges import bridge_for, parse_bridge_mappings
from lbaas.core.tree import LoadBalancerTree, TreeRejected, parse_tree
from tests.unit.agent_doubles import make_tree

# --- helpers -----------------------------------------------------------------------------------


def test_parse_bridge_mappings() -> None:
    assert parse_bridge_mappings(["public:br-ex", " a:b:br0 "]) == {"public": "br-ex", "a:b": "br0"}
    for bad in (["nocolon"], [":br"], ["net:"], ["n:b1", "n:b2"]):
        with pytest.raises(ValueError):
            parse_bridge_mappings(bad)


def test_bridge_for_prefers_network_id_then_name() -> None:
    mappings = {"net-1": "br-id", "public": "br-name"}
    by_id = LoadBalancerTree.model_validate(make_tree("lb1", vip_network_name="public"))
    assert bridge_for(mappings, by_id) == "br-id"
    by_name = LoadBalancerTree.model_validate(
        make_tree("lb1", vip_network_id="net-2", vip_network_name="public"))
    assert bridge_for(mappings, by_name) == "br-name"


def test_has_pending_looks_at_every_object() -> None:
    assert not LoadBalancerTree.model_validate(make_tree("lb1", status="ACTIVE")).has_pending()
    assert LoadBalancerTree.model_validate(make_tree("lb1", status="PENDING_UPDATE")).has_pending()
    raw = make_tree("lb1", status="ACTIVE")
    raw["pools"][0]["healthmonitor"] = {"id": "hm1", "type": "TCP", "delay": 5, "timeout": 3,
                                        "max_retries": 3, "provisioning_status": "PENDING_CREATE"}
    assert LoadBalancerTree.model_validate(raw).has_pending()


def test_a_tree_the_agent_cannot_read_names_its_load_balancer_and_revision() -> None:
    raw = make_tree("lb1", revision=7)
    del raw["vip_subnet"]
    with pytest.raises(TreeRejected) as caught:
        parse_tree(raw)
    assert (caught.value.lb_id, caught.value.revision) == ("lb1", 7)
    assert "vip_subnet" in str(caught.value)
