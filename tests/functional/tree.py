"""Builds a full load balancer tree through the single-call create, for tests that need one."""

from __future__ import annotations

from typing import Any

from tests.functional.harness import Api, Caller


def full_tree_body(api: Api, **lb: Any) -> dict[str, Any]:
    return {"loadbalancer": {
        "vip_subnet_id": api.subnet_id, "name": "tree", **lb,
        "listeners": [{
            "name": "http", "protocol": "HTTP", "protocol_port": 80,
            "default_pool": {
                "name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "members": [{"address": "10.20.1.1", "protocol_port": 8080},
                            {"address": "10.20.1.2", "protocol_port": 8080}],
                "healthmonitor": {"type": "HTTP", "delay": 3, "timeout": 2,
                                  "max_retries": 2, "url_path": "/health"}},
            "l7policies": [{"action": "REJECT", "rules": [
                {"type": "PATH", "compare_type": "STARTS_WITH", "value": "/admin"}]}],
        }],
    }}


def create_tree(api: Api, caller: Caller | None = None, **lb: Any) -> dict[str, Any]:
    """Create the tree, wait for ACTIVE, return ids of every object."""
    caller = caller or api.member
    r = caller.post("/loadbalancers", full_tree_body(api, **lb))
    assert r.status_code == 201, r.text
    lb_view = r.json()["loadbalancer"]
    api.wait_active(caller, f"/loadbalancers/{lb_view['id']}", "loadbalancer")
    listener = lb_view["listeners"][0]
    pool = lb_view["pools"][0]
    policy_id = listener["l7policies"][0]["id"]
    rule_id = caller.get(f"/l7policies/{policy_id}").json()["l7policy"]["rules"][0]["id"]
    return {"lb": lb_view["id"], "listener": listener["id"], "pool": pool["id"],
            "members": [m["id"] for m in pool["members"]], "hm": pool["healthmonitor_id"],
            "l7policy": policy_id, "l7rule": rule_id}
