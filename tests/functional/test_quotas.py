"""Quotas per project: defaults, overrides, unlimited, and 403 when exceeded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from lbaas.core.errors import QuotaExceeded
from lbaas.db import models
from lbaas.db.engine import write_session
from lbaas.services import quotas
from tests.functional.harness import Api


def test_defaults_are_unlimited_and_shown(api: Api) -> None:
    q = api.member.get("/quotas/defaults").json()["quota"]
    assert q["load_balancer"] == -1 and q["loadbalancer"] == -1 and q["l7rule"] == -1
    own = api.member.get("/quotas/project-a").json()["quota"]
    assert own["project_id"] == "project-a" and own["member"] == -1


def test_members_cannot_set_or_see_other_quotas(api: Api) -> None:
    assert api.member.put("/quotas/project-a", {"quota": {"load_balancer": 5}}).status_code == 403
    assert api.member.get("/quotas/project-b").status_code == 403
    assert api.member.get("/quotas").status_code == 403


def test_load_balancer_quota_is_enforced(api: Api) -> None:
    r = api.admin.put("/quotas/project-a", {"quota": {"load_balancer": 1, "member": 2}})
    assert r.status_code == 202
    assert r.json()["quota"]["load_balancer"] == 1
    api.create_lb()
    r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id}})
    assert r.status_code == 403
    assert "Quota has been met" in r.json()["faultstring"]
    assert "load balancer" in r.json()["faultstring"]
    # another project is not affected
    assert api.create_lb(api.other)["project_id"] == "project-b"


def test_graph_create_counts_every_child(api: Api) -> None:
    api.admin.put("/quotas/project-a", {"quota": {"member": 1}})
    from tests.functional.tree import full_tree_body

    r = api.member.post("/loadbalancers", full_tree_body(api))
    assert r.status_code == 403
    assert "member" in r.json()["faultstring"]
    assert api.member.get("/loadbalancers").json()["loadbalancers"] == []
    assert api.member.get("/v2.0/ports").json()["ports"] == []


def test_concurrent_creates_do_not_overshoot(api: Api) -> None:
    api.admin.put("/quotas/project-a", {"quota": {"load_balancer": 3}})

    def create(_: int) -> int:
        r = api.member.post("/loadbalancers", {"loadbalancer": {"vip_subnet_id": api.subnet_id}})
        return int(r.status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(create, range(8)))
    assert codes.count(201) == 3 and codes.count(403) == 5


def test_count_sees_what_committed_after_the_transaction_began(api: Api) -> None:
    """The count behind a quota check is of the rows committed when it runs, not when the
    transaction first read (the check's row lock waits for a concurrent create, whose rows must
    then be counted): REPEATABLE READ, MySQL's default, let the concurrent test overshoot."""
    if api.services.engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs one write transaction at a time")
    api.admin.put("/quotas/project-a", {"quota": {"load_balancer": 1}})
    with write_session(api.services.sessions) as session:
        session.execute(select(models.Quota)).all()  # the transaction's first read
        api.create_lb(wait=False)  # committed by another transaction meanwhile
        with pytest.raises(QuotaExceeded):
            quotas.check(session, api.services.conf, "project-a", {models.LoadBalancer: 1})


def test_reset_returns_to_defaults(api: Api) -> None:
    api.admin.put("/quotas/project-a", {"quota": {"pool": 0}})
    assert api.admin.get("/quotas/project-a").json()["quota"]["pool"] == 0
    assert api.admin.delete("/quotas/project-a").status_code == 202  # as Octavia answers
    assert api.admin.get("/quotas/project-a").json()["quota"]["pool"] == -1
    quotas = api.admin.get("/quotas").json()["quotas"]
    assert all(q["project_id"] != "project-a" for q in quotas)


def test_invalid_quota_values_are_400(api: Api) -> None:
    r = api.admin.put("/quotas/project-a", {"quota": {"load_balancer": -2}})
    assert r.status_code == 400
    r = api.admin.put("/quotas/project-a", {"quota": {"widgets": 1}})
    assert r.status_code == 400
