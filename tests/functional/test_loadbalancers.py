"""Load balancer lifecycle through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from tests.functional.harness import Api, wait_for


def test_create_allocates_vip_from_subnet(api: Api) -> None:
    lb = api.create_lb(name="web", description="front", tags=["a", "b"])
    assert lb["vip_subnet_id"] == api.subnet_id
    assert lb["vip_network_id"] == api.network_id
    assert lb["vip_address"].startswith("10.20.")
    assert lb["vip_port_id"]
    assert lb["provider"] == "noop"
    assert lb["tags"] == ["a", "b"]
    assert lb["project_id"] == lb["tenant_id"] == "project-a"
    assert lb["operating_status"] == "ONLINE"
    ports = api.member.get("/v2.0/ports").json()["ports"]
    assert [p["fixed_ips"][0]["ip_address"] for p in ports] == [lb["vip_address"]]


def test_bare_create_stores_what_it_answers(api: Api) -> None:
    """A load balancer without children is inserted with Core statements, one with children
    through the ORM: both store exactly what the create answered."""
    bare = api.member.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": api.subnet_id, "name": "bare", "description": "d",
        "admin_state_up": False, "tags": ["z", "a", "z"]}}).json()["loadbalancer"]
    full = api.member.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": api.subnet_id, "name": "full", "description": "d",
        "admin_state_up": False, "tags": ["z", "a", "z"],
        "listeners": [{"protocol": "TCP", "protocol_port": 80}]}}).json()["loadbalancer"]
    for created in (bare, full):
        assert created["tags"] == ["a", "z"]
        assert created["provisioning_status"] == "PENDING_CREATE"
        stored = api.wait_active(api.member, f"/loadbalancers/{created['id']}", "loadbalancer")
        changed = {"provisioning_status", "operating_status", "updated_at", "listeners"}
        assert {k: v for k, v in stored.items() if k not in changed} == {
            k: v for k, v in created.items() if k not in changed}
        assert stored["operating_status"] == "OFFLINE"  # admin_state_up false
    assert [li["id"] for li in full["listeners"]] == [
        li["id"] for li in api.member.get(f"/loadbalancers/{full['id']}").json()[
            "loadbalancer"]["listeners"]]
    bare_row = api.member.get("/loadbalancers", params={"name": "bare"}).json()
    assert [lb["id"] for lb in bare_row["loadbalancers"]] == [bare["id"]]
    tagged = api.member.get("/loadbalancers", params={"tags": "a,z"}).json()["loadbalancers"]
    assert {lb["id"] for lb in tagged} == {bare["id"], full["id"]}


def test_create_returns_pending_create_then_active(api: Api) -> None:
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id}})
    assert r.status_code == 201
    assert r.json()["loadbalancer"]["provisioning_status"] == "PENDING_CREATE"
    lb = api.wait_active(api.member, f"/loadbalancers/{r.json()['loadbalancer']['id']}",
                         "loadbalancer")
    assert lb["provisioning_status"] == "ACTIVE"


def test_create_with_requested_vip_address(api: Api) -> None:
    lb = api.create_lb(vip_address="10.20.3.4")
    assert lb["vip_address"] == "10.20.3.4"
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id,
                                                            "vip_address": "10.20.3.4"}})
    assert r.status_code == 409
    assert "already allocated" in r.json()["faultstring"]


def test_create_with_vip_outside_subnet_is_400(api: Api) -> None:
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id,
                                                            "vip_address": "192.168.1.1"}})
    assert r.status_code == 400
    assert "not a usable address" in r.json()["faultstring"]


def test_create_with_a_vip_port_in_use_or_unknown_is_400(api: Api) -> None:
    lb = api.create_lb()
    for port_id, message in ((lb["vip_port_id"], "is already in use"),
                             (str(uuid.uuid4()), "could not be found")):
        r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_port_id": port_id}})
        assert r.status_code == 400, r.text
        assert message in r.json()["faultstring"]
    assert len(api.member.get("/loadbalancers").json()["loadbalancers"]) == 1


def test_create_by_network_id(api: Api) -> None:
    lb = api.create_lb(vip_subnet_id=None, vip_network_id=api.network_id)
    assert lb["vip_subnet_id"] == api.subnet_id


def test_create_with_unknown_subnet_is_400(api: Api) -> None:
    r = api.member.post("/loadbalancers",
                        {"loadbalancer": {"vip_subnet_id": str(uuid.uuid4())}})
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"faultcode", "faultstring", "debuginfo"}
    assert "could not be found" in body["faultstring"]


def test_create_without_vip_is_400_naming_the_fields(api: Api) -> None:
    r = api.member.post("/loadbalancers", {"loadbalancer": {"name": "x"}})
    assert r.status_code == 400
    assert "vip_subnet_id" in r.json()["faultstring"]


def test_unknown_attribute_is_400(api: Api) -> None:
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id,
                                                            "colour": "red"}})
    assert r.status_code == 400
    assert "colour" in r.json()["faultstring"]


def test_name_longer_than_255_is_400(api: Api) -> None:
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id,
                                                            "name": "x" * 256}})
    assert r.status_code == 400
    assert "name" in r.json()["faultstring"]


def test_malformed_json_is_400(api: Api) -> None:
    r = api.client.post("/v2/lbaas/loadbalancers", content=b"{not json",
                        headers={"X-Auth-Token": api.member.token,
                                 "Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["faultcode"] == "Client"


def test_unknown_and_malformed_ids_are_404(api: Api) -> None:
    for lb_id in (str(uuid.uuid4()), "not-a-uuid", "%27%3B--"):
        r = api.member.get(f"/loadbalancers/{lb_id}")
        assert r.status_code == 404, lb_id
        assert "could not be found" in r.json()["faultstring"]


def test_update_sets_pending_update_then_active(api: Api) -> None:
    lb = api.create_lb()
    r = api.member.put(f"/loadbalancers/{lb['id']}", {"loadbalancer": {"name": "renamed",
                                                                       "tags": ["t"]}})
    assert r.status_code == 200
    assert r.json()["loadbalancer"]["provisioning_status"] == "PENDING_UPDATE"
    lb = api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    assert lb["name"] == "renamed" and lb["tags"] == ["t"]
    assert lb["updated_at"] is not None


def test_admin_state_down_makes_operating_status_offline(api: Api) -> None:
    lb = api.create_lb()
    api.member.put(f"/loadbalancers/{lb['id']}", {"loadbalancer": {"admin_state_up": False}})
    lb = api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    assert lb["operating_status"] == "OFFLINE"


def test_delete_with_children_needs_cascade(api: Api) -> None:
    lb = api.create_lb()
    r = api.member.post("/listeners", {"listener": {"loadbalancer_id": lb["id"],
                                                    "protocol": "HTTP", "protocol_port": 80}})
    assert r.status_code == 201, r.text
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    r = api.member.delete(f"/loadbalancers/{lb['id']}")
    assert r.status_code == 400
    assert "cascade" in r.json()["faultstring"]
    r = api.member.delete(f"/loadbalancers/{lb['id']}?cascade=True")
    assert r.status_code == 204
    wait_for(lambda: api.member.get(f"/loadbalancers/{lb['id']}").status_code,
             lambda code: code == 404)
    assert api.member.get("/listeners").json()["listeners"] == []
    assert api.member.get("/v2.0/ports").json()["ports"] == []


def test_deleted_vip_address_can_be_reused(api: Api) -> None:
    lb = api.create_lb(vip_address="10.20.9.9")
    api.member.delete(f"/loadbalancers/{lb['id']}")
    wait_for(lambda: api.member.get(f"/loadbalancers/{lb['id']}").status_code,
             lambda code: code == 404)
    assert api.create_lb(vip_address="10.20.9.9")["vip_address"] == "10.20.9.9"


def test_status_tree_and_stats(api: Api) -> None:
    body = {"vip_subnet_id": api.subnet_id, "listeners": [{
        "protocol": "HTTP", "protocol_port": 80, "default_pool": {
            "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [{"address": "10.20.1.1", "protocol_port": 8080}],
            "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3}}}]}
    r = api.member.post("/loadbalancers", {"loadbalancer": body})
    assert r.status_code == 201, r.text
    lb_id = r.json()["loadbalancer"]["id"]
    api.wait_active(api.member, f"/loadbalancers/{lb_id}", "loadbalancer")
    tree = api.member.get(f"/loadbalancers/{lb_id}/status").json()["statuses"]["loadbalancer"]
    assert tree["provisioning_status"] == "ACTIVE"
    pool = tree["listeners"][0]["pools"][0]
    assert pool["members"][0]["operating_status"] == "ONLINE"
    assert pool["health_monitor"]["type"] == "HTTP"
    stats = api.member.get(f"/loadbalancers/{lb_id}/stats").json()["stats"]
    assert stats == {"bytes_in": 0, "bytes_out": 0, "active_connections": 0,
                     "total_connections": 0, "request_errors": 0}


STATUS = {"id", "name", "provisioning_status", "operating_status"}


def test_status_tree_has_octavias_shape(api: Api) -> None:
    """Listeners under the load balancer (no ``pools`` key there), under each listener the
    pools it uses (default pool, then redirect targets), under a pool ``health_monitor`` (absent
    without one) and ``members``; no L7 policies, and a pool no listener uses is left out."""
    body = {"vip_subnet_id": api.subnet_id, "name": "shape",
            "pools": [{"name": "unused", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}],
            "listeners": [{
                "protocol": "HTTP", "protocol_port": 80, "name": "web", "default_pool": {
                    "name": "main", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                    "members": [{"address": "10.20.1.1", "protocol_port": 8080}],
                    "healthmonitor": {"type": "TCP", "delay": 5, "timeout": 3,
                                      "max_retries": 3}},
                "l7policies": [{"action": "REDIRECT_TO_POOL", "redirect_pool": {
                    "name": "api", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"},
                    "rules": [{"type": "PATH", "compare_type": "STARTS_WITH",
                               "value": "/api"}]}]}]}
    r = api.member.post("/loadbalancers", {"loadbalancer": body})
    assert r.status_code == 201, r.text
    lb_id = r.json()["loadbalancer"]["id"]
    api.wait_active(api.member, f"/loadbalancers/{lb_id}", "loadbalancer")
    lb = api.member.get(f"/loadbalancers/{lb_id}/status").json()["statuses"]["loadbalancer"]
    assert set(lb) == STATUS | {"listeners"} and lb["name"] == "shape"
    [listener] = lb["listeners"]
    assert set(listener) == STATUS | {"pools"}
    main, redirect = listener["pools"]
    assert (main["name"], redirect["name"]) == ("main", "api")
    assert set(main) == STATUS | {"health_monitor", "members"}
    assert set(main["health_monitor"]) == STATUS | {"type"}
    assert set(main["members"][0]) == STATUS | {"address", "protocol_port"}
    assert set(redirect) == STATUS | {"members"} and redirect["members"] == []


def test_both_prefixes_serve_the_same_objects(api: Api) -> None:
    lb = api.create_lb()
    a = api.member.get(f"/v2/lbaas/loadbalancers/{lb['id']}").json()
    b = api.member.get(f"/v2.0/lbaas/loadbalancers/{lb['id']}").json()
    assert a == b


def test_failover_is_admin_only(api: Api) -> None:
    lb = api.create_lb()
    assert api.member.put(f"/loadbalancers/{lb['id']}/failover", {}).status_code == 403
    assert api.admin.put(f"/loadbalancers/{lb['id']}/failover", {}).status_code == 202
    api.wait_active(api.admin, f"/loadbalancers/{lb['id']}", "loadbalancer")


def test_show_and_list_name_children_and_tags_alike(api: Api) -> None:
    """Show (one query) and list (bulk) render the same load balancer the same way: listener
    and pool ids in creation order, tags sorted; another project's show is a 403."""
    lb = api.create_lb(name="kids", tags=["zeta", "alpha", "mid"])
    m = api.member
    listener_ids = []
    for port in (81, 80, 82):
        r = m.post("/listeners", {"listener": {"loadbalancer_id": lb["id"], "protocol": "TCP",
                                               "protocol_port": port}})
        assert r.status_code == 201, r.text
        listener_ids.append(r.json()["listener"]["id"])
        api.wait_active(m, f"/loadbalancers/{lb['id']}", "loadbalancer")
    r = m.post("/pools", {"pool": {"loadbalancer_id": lb["id"], "protocol": "TCP",
                                   "lb_algorithm": "ROUND_ROBIN"}})
    assert r.status_code == 201, r.text
    pool_id = r.json()["pool"]["id"]
    api.wait_active(m, f"/loadbalancers/{lb['id']}", "loadbalancer")
    other = api.create_lb(name="bare")

    shown = m.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
    assert shown["listeners"] == [{"id": i} for i in listener_ids]
    assert shown["pools"] == [{"id": pool_id}]
    assert shown["tags"] == ["alpha", "mid", "zeta"]
    listed = {x["id"]: x for x in m.get("/loadbalancers").json()["loadbalancers"]}
    assert listed[lb["id"]] == shown
    bare = m.get(f"/loadbalancers/{other['id']}").json()["loadbalancer"]
    assert (bare["listeners"], bare["pools"], bare["tags"]) == ([], [], [])
    assert listed[other["id"]] == bare

    hidden = api.other.get(f"/loadbalancers/{lb['id']}")
    assert hidden.status_code == 403
    assert "Policy does not allow" in hidden.json()["faultstring"]
    assert api.admin.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"] == shown
