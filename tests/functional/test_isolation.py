"""A project never sees or changes another project's objects.

As the real Octavia: a path to another project's object answers 403 (policy is checked against
the object's own project), a path to an object that does not exist 404, and lists never show
another project's objects.
"""

from __future__ import annotations

import httpx

from tests.functional.harness import Api
from tests.functional.tree import create_tree


def _refused(r: httpx.Response) -> bool:
    return (r.status_code == 403
            and r.json()["faultstring"] == "Policy does not allow this request to be performed.")


def test_other_project_gets_403_everywhere(api: Api) -> None:
    ids = create_tree(api)
    other = api.other
    reads = [f"/loadbalancers/{ids['lb']}", f"/loadbalancers/{ids['lb']}/status",
             f"/loadbalancers/{ids['lb']}/stats", f"/listeners/{ids['listener']}",
             f"/listeners/{ids['listener']}/stats", f"/pools/{ids['pool']}",
             f"/pools/{ids['pool']}/members", f"/pools/{ids['pool']}/members/{ids['members'][0]}",
             f"/healthmonitors/{ids['hm']}", f"/l7policies/{ids['l7policy']}",
             f"/l7policies/{ids['l7policy']}/rules",
             f"/l7policies/{ids['l7policy']}/rules/{ids['l7rule']}"]
    for path in reads:
        assert _refused(other.get(path)), path
        missing = path.replace(ids["lb"], "00000000-0000-4000-8000-000000000000")
        if missing != path:
            assert other.get(missing).status_code == 404, missing
    writes = [("put", f"/loadbalancers/{ids['lb']}", {"loadbalancer": {"name": "x"}}),
              ("put", f"/listeners/{ids['listener']}", {"listener": {"name": "x"}}),
              ("put", f"/pools/{ids['pool']}", {"pool": {"name": "x"}}),
              ("put", f"/pools/{ids['pool']}/members", {"members": []}),
              ("put", f"/healthmonitors/{ids['hm']}", {"healthmonitor": {"delay": 9}}),
              ("post", f"/pools/{ids['pool']}/members",
               {"member": {"address": "10.20.5.5", "protocol_port": 80}}),
              ("post", "/listeners", {"listener": {"loadbalancer_id": ids["lb"],
                                                   "protocol": "TCP", "protocol_port": 81}}),
              ("post", "/pools", {"pool": {"loadbalancer_id": ids["lb"], "protocol": "TCP",
                                           "lb_algorithm": "ROUND_ROBIN"}}),
              ("post", "/healthmonitors", {"healthmonitor": {
                  "pool_id": ids["pool"], "type": "TCP", "delay": 1, "timeout": 1,
                  "max_retries": 1}}),
              ("post", "/l7policies", {"l7policy": {"listener_id": ids["listener"],
                                                    "action": "REJECT"}}),
              ("post", f"/l7policies/{ids['l7policy']}/rules", {"rule": {
                  "type": "PATH", "compare_type": "EQUAL_TO", "value": "/x"}})]
    for method, path, body in writes:
        r = getattr(other, method)(path, body)
        assert _refused(r), (method, path, r.text)
    for path in (f"/l7policies/{ids['l7policy']}/rules/{ids['l7rule']}",
                 f"/l7policies/{ids['l7policy']}", f"/healthmonitors/{ids['hm']}",
                 f"/pools/{ids['pool']}/members/{ids['members'][0]}", f"/pools/{ids['pool']}",
                 f"/listeners/{ids['listener']}", f"/loadbalancers/{ids['lb']}?cascade=true"):
        assert _refused(other.delete(path)), path
    # Nothing changed for the owner.
    assert api.member.get(f"/loadbalancers/{ids['lb']}").json()["loadbalancer"]["name"] == "tree"


def test_lists_filters_and_markers_stay_in_project(api: Api) -> None:
    ids = create_tree(api)
    other = api.other
    for coll in ("loadbalancers", "listeners", "pools", "healthmonitors", "l7policies"):
        assert other.get(f"/{coll}").json()[coll] == [], coll
        assert other.get(f"/{coll}?project_id=project-a").json()[coll] == [], coll
    r = other.get(f"/loadbalancers?marker={ids['lb']}")
    assert r.status_code == 400  # the marker is not visible: same as not existing
    assert other.get("/loadbalancers?name=tree").json()["loadbalancers"] == []


def test_project_ids_that_differ_only_in_case_are_other_projects(api: Api) -> None:
    """Project ids compare exactly on every database (MySQL's default collations ignore
    case: there, PROJECT-A listed project-a's load balancers)."""
    lb = api.create_lb(name="mine")
    shouting = api.caller("PROJECT-A", "member")
    assert shouting.get("/loadbalancers").json()["loadbalancers"] == []
    assert _refused(shouting.get(f"/loadbalancers/{lb['id']}"))
    assert api.member.get("/loadbalancers").json()["loadbalancers"][0]["id"] == lb["id"]


def test_member_of_another_pool_is_404(api: Api) -> None:
    a = create_tree(api)
    b = create_tree(api)
    assert api.member.get(f"/pools/{b['pool']}/members/{a['members'][0]}").status_code == 404
    assert api.member.delete(f"/pools/{b['pool']}/members/{a['members'][0]}").status_code == 404
    assert api.member.get(f"/l7policies/{b['l7policy']}/rules/{a['l7rule']}").status_code == 404


def test_cannot_reference_another_projects_objects(api: Api) -> None:
    mine = create_tree(api)
    theirs = create_tree(api, api.other)
    r = api.member.put(f"/listeners/{mine['listener']}",
                       {"listener": {"default_pool_id": theirs["pool"]}})
    assert r.status_code == 400
    r = api.member.post("/l7policies", {"l7policy": {
        "listener_id": mine["listener"], "action": "REDIRECT_TO_POOL",
        "redirect_pool_id": theirs["pool"]}})
    assert r.status_code == 400


def test_admin_sees_all_projects(api: Api) -> None:
    create_tree(api)
    create_tree(api, api.other)
    lbs = api.admin.get("/loadbalancers").json()["loadbalancers"]
    assert {lb["project_id"] for lb in lbs} == {"project-a", "project-b"}
    assert len(api.admin.get("/loadbalancers?project_id=project-b").json()["loadbalancers"]) == 1


def test_non_admin_cannot_create_for_another_project(api: Api) -> None:
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id,
                                                            "project_id": "project-b"}})
    assert r.status_code == 403
    r = api.admin.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id,
                                                           "project_id": "project-b"}})
    assert r.status_code == 201
    assert r.json()["loadbalancer"]["project_id"] == "project-b"
