"""The listener attribute ``lbaas:access_log``: stored, shown, changed, sent to the agents."""

from __future__ import annotations

from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.services.tree import build_tree
from tests.functional.harness import Api


def test_access_log_opt_out_round_trip(api: Api) -> None:
    lb = api.create_lb()
    m = api.member
    r = m.post("/listeners", {"listener": {"loadbalancer_id": lb["id"], "protocol": "HTTP",
                                           "protocol_port": 80}})
    assert r.status_code == 201, r.text
    assert r.json()["listener"]["lbaas:access_log"] is True
    listener_id = r.json()["listener"]["id"]
    api.wait_active(m, f"/loadbalancers/{lb['id']}", "loadbalancer")

    r = m.put(f"/listeners/{listener_id}", {"listener": {"lbaas:access_log": False}})
    assert r.status_code == 200, r.text
    assert r.json()["listener"]["lbaas:access_log"] is False
    api.wait_active(m, f"/loadbalancers/{lb['id']}", "loadbalancer")
    assert m.get(f"/listeners/{listener_id}").json()["listener"]["lbaas:access_log"] is False
    with read_session(api.services.sessions) as session:
        tree = build_tree(session, session.get(models.LoadBalancer, lb["id"]),
                          api.services.secrets)
    assert [listener.access_log for listener in tree.listeners] == [False]

    r = m.put(f"/listeners/{listener_id}", {"listener": {"lbaas:access_log": None}})
    assert r.status_code == 200, r.text
    assert r.json()["listener"]["lbaas:access_log"] is True  # null: back to the default


def test_access_log_is_refused_unless_a_boolean(api: Api) -> None:
    lb = api.create_lb()
    body = {"loadbalancer_id": lb["id"], "protocol": "TCP", "protocol_port": 81}
    for value in ("maybe", 3, [True]):
        r = api.member.post("/listeners", {"listener": {**body, "lbaas:access_log": value}})
        assert r.status_code == 400, (value, r.text)
    r = api.member.post("/listeners", {"listener": {**body, "access_log": False}})
    assert r.status_code == 400, r.text  # only the namespaced name


def test_single_call_create_takes_it(api: Api) -> None:
    lb = api.create_lb(listeners=[{"protocol": "HTTP", "protocol_port": 80,
                                   "lbaas:access_log": False}])
    listener = api.member.get(f"/listeners/{lb['listeners'][0]['id']}").json()["listener"]
    assert listener["lbaas:access_log"] is False


def test_listing_filters_and_selects_it(api: Api) -> None:
    lb = api.create_lb(listeners=[
        {"protocol": "HTTP", "protocol_port": 80, "lbaas:access_log": False},
        {"protocol": "HTTP", "protocol_port": 81}])
    m = api.member
    quiet = m.get(f"/listeners?loadbalancer_id={lb['id']}&lbaas:access_log=false").json()
    assert [li["protocol_port"] for li in quiet["listeners"]] == [80]
    picked = m.get(f"/listeners?loadbalancer_id={lb['id']}&fields=protocol_port"
                   "&fields=lbaas:access_log&sort=protocol_port").json()["listeners"]
    assert picked == [{"protocol_port": 80, "lbaas:access_log": False},
                      {"protocol_port": 81, "lbaas:access_log": True}]
