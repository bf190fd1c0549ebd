"""Authentication (tokens, HTTP Basic) and role policy (admin, member, reader)."""

from __future__ import annotations

import base64

from tests.functional.harness import Api


def test_missing_and_unknown_tokens_are_401(sqlite_api: Api) -> None:
    c = sqlite_api.client
    r = c.get("/v2/lbaas/loadbalancers")
    assert r.status_code == 401
    assert r.json()["faultcode"] == "Client"
    r = c.get("/v2/lbaas/loadbalancers", headers={"X-Auth-Token": "lbaas_nope"})
    assert r.status_code == 401
    assert "unknown or expired" in r.json()["faultstring"]


def test_version_document_needs_no_auth(sqlite_api: Api) -> None:
    r = sqlite_api.client.get("/")
    assert r.status_code == 200
    versions = r.json()["versions"]
    assert versions[0]["id"] == "v2.0" and versions[-1]["status"] == "CURRENT"
    assert versions[0]["links"][0]["href"].endswith("/v2")


def test_http_basic_with_token_name(sqlite_api: Api) -> None:
    from lbaas.db.engine import write_session
    from lbaas.services.tokens import create_token

    with write_session(sqlite_api.services.sessions) as s:
        _tok, secret = create_token(s, "project-a", ["member"], name="ci-user")
    good = base64.b64encode(f"ci-user:{secret}".encode()).decode()
    bad = base64.b64encode(f"someone-else:{secret}".encode()).decode()
    c = sqlite_api.client
    assert c.get("/v2/lbaas/loadbalancers", headers={"Authorization": f"Basic {good}"}
                 ).status_code == 200
    assert c.get("/v2/lbaas/loadbalancers", headers={"Authorization": f"Basic {bad}"}
                 ).status_code == 401
    assert c.get("/v2/lbaas/loadbalancers", headers={"Authorization": "Basic !!!"}
                 ).status_code == 401


def test_reader_may_read_but_not_write(sqlite_api: Api) -> None:
    lb = sqlite_api.create_lb()
    reader = sqlite_api.reader
    assert reader.get(f"/loadbalancers/{lb['id']}").status_code == 200
    r = reader.put(f"/loadbalancers/{lb['id']}", {"loadbalancer": {"name": "x"}})
    assert r.status_code == 403
    assert "os_load-balancer_api:loadbalancer:put" in r.json()["faultstring"]
    assert reader.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": sqlite_api.subnet_id}}).status_code == 403
    assert reader.delete(f"/loadbalancers/{lb['id']}").status_code == 403


def test_networks_are_registered_by_admins_only(sqlite_api: Api) -> None:
    r = sqlite_api.member.post("/v2.0/networks", {"network": {"name": "mine"}})
    assert r.status_code == 403
    subnets = sqlite_api.member.get(f"/v2.0/subnets?id={sqlite_api.subnet_id}").json()
    assert [s["id"] for s in subnets["subnets"]] == [sqlite_api.subnet_id]
    by_name = sqlite_api.member.get("/v2.0/subnets?name=public-subnet").json()["subnets"]
    assert by_name[0]["cidr"] == "10.20.0.0/16"
    assert by_name[0]["gateway_ip"] == "10.20.0.1"


def test_policy_file_overrides_defaults(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    from tests.functional.harness import build_api, close_api

    state = tmp_path_factory.mktemp("state")
    policy = state / "policy.yaml"
    policy.write_text('"os_load-balancer_api:loadbalancer:post": "rule:load-balancer:admin"\n')
    api = build_api(str(state), overrides={"oslo_policy": {"policy_file": str(policy)}})
    try:
        r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id}})
        assert r.status_code == 403
        assert api.member.get("/loadbalancers").status_code == 200
    finally:
        close_api(api)


def test_project_lookup_for_the_cli(sqlite_api: Api) -> None:
    r = sqlite_api.member.get("/projects/project-a")
    assert r.json()["project"]["id"] == "project-a"
    assert sqlite_api.member.get("/projects/project-b").status_code == 404
    assert sqlite_api.admin.get("/projects/project-b").status_code == 200
