"""The single call that creates a whole load balancer tree, as Octavia accepts it."""

from __future__ import annotations

from tests.functional.harness import Api
from tests.functional.tree import full_tree_body


def test_full_tree_is_created_in_one_call(api: Api) -> None:
    r = api.member.post("/loadbalancers", full_tree_body(api))
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    listener = lb["listeners"][0]
    pool = lb["pools"][0]
    assert listener["default_pool_id"] == pool["id"]
    assert len(pool["members"]) == 2 and pool["healthmonitor_id"]
    assert listener["provisioning_status"] == "PENDING_CREATE"
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    tree = api.member.get(f"/loadbalancers/{lb['id']}/status").json()["statuses"]
    statuses = tree["loadbalancer"]["listeners"][0]
    assert statuses["provisioning_status"] == "ACTIVE"
    assert statuses["pools"][0]["health_monitor"]["provisioning_status"] == "ACTIVE"
    policy = api.member.get(f"/l7policies/{listener['l7policies'][0]['id']}").json()["l7policy"]
    rule = api.member.get(f"/l7policies/{policy['id']}/rules/{policy['rules'][0]['id']}")
    assert (policy["provisioning_status"], rule.json()["rule"]["provisioning_status"]) == \
        ("ACTIVE", "ACTIVE")


def test_pools_referenced_by_name_and_redirect_pools(api: Api) -> None:
    body = {"loadbalancer": {
        "vip_subnet_id": api.subnet_id,
        "pools": [{"name": "shared", "protocol": "HTTP", "lb_algorithm": "LEAST_CONNECTIONS"}],
        "listeners": [{"protocol": "HTTP", "protocol_port": 80,
                       "default_pool": {"name": "shared"},
                       "l7policies": [{"action": "REDIRECT_TO_POOL", "redirect_pool": {
                           "name": "api", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"},
                           "rules": [{"type": "PATH", "compare_type": "STARTS_WITH",
                                      "value": "/api"}]}]}]}}
    r = api.member.post("/loadbalancers", body)
    assert r.status_code == 201, r.text
    lb = r.json()["loadbalancer"]
    names = {p["name"]: p["id"] for p in lb["pools"]}
    assert set(names) == {"shared", "api"}
    assert lb["listeners"][0]["default_pool_id"] == names["shared"]


def test_bad_child_rejects_the_whole_tree(api: Api) -> None:
    body = full_tree_body(api)
    body["loadbalancer"]["listeners"][0]["default_pool"]["members"][1]["weight"] = 999
    r = api.member.post("/loadbalancers", body)
    assert r.status_code == 400
    # One error, located where the pool is a tree (the pool is not also refused as a pool
    # named by reference, the other member of the union), so a form can point at the field.
    assert r.json()["faultstring"] == (
        "Invalid input for field/attribute listeners.0.default_pool.members.1.weight. "
        "Value: 999. Input should be less than or equal to 256")
    body = full_tree_body(api)
    body["loadbalancer"]["listeners"][0]["default_pool"] = {"name": "missing"}
    r = api.member.post("/loadbalancers", body)
    assert r.status_code == 400
    assert "missing" in r.json()["faultstring"]
    body = full_tree_body(api)
    body["loadbalancer"]["listeners"].append(dict(body["loadbalancer"]["listeners"][0]))
    r = api.member.post("/loadbalancers", body)
    assert r.status_code == 409
    assert api.member.get("/loadbalancers").json()["loadbalancers"] == []
    assert api.member.get("/v2.0/ports").json()["ports"] == []
