"""The pool attributes ``lbaas:drain_timeout`` and ``lbaas:slow_start``: stored, shown, changed,
refused where haproxy cannot apply them, sent to the agents, rendered."""

from __future__ import annotations

from typing import Any

import pytest

from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.view import ConfigRuntimePaths
from lbaas.services.tree import build_tree
from tests.functional.harness import Api

POOL = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}


def _pool(api: Api, **fields: Any) -> tuple[str, dict[str, Any]]:
    lb = api.create_lb()
    r = api.member.post("/pools", {"pool": {"loadbalancer_id": lb["id"], **POOL, **fields}})
    assert r.status_code == 201, r.text
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    return lb["id"], r.json()["pool"]


def _tree_pool(api: Api, lb_id: str) -> Any:
    with read_session(api.services.sessions) as session:
        lb = session.get(models.LoadBalancer, lb_id)
        assert lb is not None
        tree = build_tree(session, lb, api.services.secrets)
    return tree, tree.pools[0]


def test_round_trip_to_the_agents_tree(api: Api) -> None:
    lb_id, pool = _pool(api)
    assert (pool["lbaas:drain_timeout"], pool["lbaas:slow_start"]) == (0, 0)
    m = api.member
    r = m.put(f"/pools/{pool['id']}", {"pool": {"lbaas:drain_timeout": 30,
                                               "lbaas:slow_start": 10}})
    assert r.status_code == 200, r.text
    assert (r.json()["pool"]["lbaas:drain_timeout"], r.json()["pool"]["lbaas:slow_start"]) \
        == (30, 10)
    api.wait_active(m, f"/loadbalancers/{lb_id}", "loadbalancer")
    shown = m.get(f"/pools/{pool['id']}").json()["pool"]
    assert (shown["lbaas:drain_timeout"], shown["lbaas:slow_start"]) == (30, 10)
    _, node = _tree_pool(api, lb_id)
    assert (node.drain_timeout, node.slow_start) == (30, 10)

    r = m.put(f"/pools/{pool['id']}", {"pool": {"lbaas:drain_timeout": None}})
    assert r.status_code == 200, r.text
    assert r.json()["pool"]["lbaas:drain_timeout"] == 0  # null: back to the default
    assert r.json()["pool"]["lbaas:slow_start"] == 10


def test_rendered_as_slowstart_and_the_agents_drain_line(api: Api) -> None:
    m = api.member
    lb = api.create_lb(listeners=[{"protocol": "HTTP", "protocol_port": 80, "default_pool": {
        **POOL, "lbaas:drain_timeout": 20, "lbaas:slow_start": 15,
        "members": [{"address": "10.0.0.11", "protocol_port": 80}]}}])
    api.wait_active(m, f"/loadbalancers/{lb['id']}", "loadbalancer")
    tree, pool = _tree_pool(api, lb["id"])
    text = render_haproxy_config(tree, ConfigRuntimePaths("/run/s.sock", "/run/state"))
    assert "    # lbaas:drain_timeout 20\n" in text
    [server] = [line for line in text.splitlines() if line.strip().startswith("server ")
                and pool.members[0].id in line]
    assert " slowstart 15s" in server


@pytest.mark.parametrize("value", [-1, 3601, "soon", "10", 1.5, True])
def test_out_of_range_or_not_an_integer_is_refused(api: Api, value: object) -> None:
    lb = api.create_lb()
    for attribute in ("lbaas:drain_timeout", "lbaas:slow_start"):
        r = api.member.post("/pools", {"pool": {"loadbalancer_id": lb["id"], **POOL,
                                                attribute: value}})
        assert r.status_code == 400, (attribute, value, r.text)
        assert attribute in r.json()["faultstring"], r.text


@pytest.mark.parametrize("algorithm", ["SOURCE_IP", "SOURCE_IP_PORT"])
def test_refused_for_pools_balanced_by_source(api: Api, algorithm: str) -> None:
    """haproxy balances these through a static map: it ramps no weight, and the agent changes
    their members by reloading, where it cannot time a drain."""
    lb = api.create_lb()
    body = {"loadbalancer_id": lb["id"], "protocol": "HTTP", "lb_algorithm": algorithm}
    for attribute in ("lbaas:drain_timeout", "lbaas:slow_start"):
        r = api.member.post("/pools", {"pool": {**body, attribute: 5}})
        assert r.status_code == 400, r.text
        assert r.json()["faultstring"] == (
            f"{attribute} needs a pool balanced by ROUND_ROBIN or LEAST_CONNECTIONS, not "
            f"{algorithm}.")
    _, pool = _pool(api, **{"lbaas:slow_start": 5})
    r = api.member.put(f"/pools/{pool['id']}", {"pool": {"lb_algorithm": algorithm}})
    assert r.status_code == 400, r.text
    assert "lbaas:slow_start needs a pool balanced by" in r.json()["faultstring"]


def test_listing_filters_and_selects_them(api: Api) -> None:
    _, slow = _pool(api, **{"lbaas:slow_start": 9})
    m = api.member
    found = m.get("/pools?lbaas:slow_start=9").json()["pools"]
    assert [p["id"] for p in found] == [slow["id"]]
    picked = m.get("/pools?lbaas:slow_start=9&fields=id&fields=lbaas:drain_timeout").json()
    assert picked["pools"] == [{"id": slow["id"], "lbaas:drain_timeout": 0}]
