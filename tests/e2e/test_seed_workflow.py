"""The tenant workflow of the seed documents, end to end: two web backends behind an HTTP
listener with a round-robin pool and an HTTP monitor; a failed backend leaves the rotation and
shows ERROR in the API, and comes back when it is restarted."""

from __future__ import annotations

from tests.e2e.stack import Stack, answers, eventually


def test_seed_workflow(stack: Stack) -> None:
    stack.backend("w1", 11, "You've reached WEB01")
    stack.backend("w2", 12, "You've reached WEB02")
    client = stack.client()
    lb = stack.create_lb({"name": "seed", "listeners": [{
        "name": "http", "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "members": [{"name": "web01", "address": "10.241.0.11",
                                      "protocol_port": 80},
                                     {"name": "web02", "address": "10.241.0.12",
                                      "protocol_port": 80}],
                         "healthmonitor": {"type": "HTTP", "delay": 1, "timeout": 1,
                                           "max_retries": 2, "max_retries_down": 2,
                                           "url_path": "/"}}}]})
    assert lb["provisioning_status"] == "ACTIVE"
    vip = lb["vip_address"]
    pool_id = lb["pools"][0]["id"]
    members = {m["name"]: m["id"] for m in
               stack.api.member.get(f"/pools/{pool_id}/members").json()["members"]}

    eventually(lambda: stack.member_status(pool_id, members["web01"]) == "ONLINE")
    got = answers(client, vip, 6)
    assert got.count("You've reached WEB01") == 3 and got.count("You've reached WEB02") == 3
    assert got[0] != got[1]  # they alternate

    # web01 dies: every answer comes from web02, and the API says web01 is in ERROR.
    stack.stop_server("w1")
    eventually(lambda: stack.member_status(pool_id, members["web01"]) == "ERROR")
    assert set(answers(client, vip, 6)) == {"You've reached WEB02"}
    status = stack.api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
    assert status["operating_status"] == "DEGRADED"

    # web01 comes back: ONLINE again and back in the rotation.
    stack.start_server("w1", "You've reached WEB01")
    eventually(lambda: stack.member_status(pool_id, members["web01"]) == "ONLINE")
    assert set(answers(client, vip, 6)) == {"You've reached WEB01", "You've reached WEB02"}
    status = stack.api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
    assert status["operating_status"] == "ONLINE"
