"""The load balancer view is the same whether built from a plain row (list, show) or from the
ORM object (create, update), and every resource view follows its response schema."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from lbaas.db import loadbalancer_reads, models
from lbaas.services import views


@pytest.mark.parametrize("updated", [None, dt.datetime(2026, 11, 21, 15, 4, 5, 123456)])
def test_loadbalancer_view_is_the_same_from_a_row_and_from_the_orm(
        updated: dt.datetime | None) -> None:
    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    table = models.LoadBalancer.__table__
    with engine.begin() as conn:
        conn.execute(insert(models.LoadBalancer).values(
            id="7c1d5bd4-97a7-4b0c-a2a1-3a5a4b1c2d3e", project_id="p1", name="web",
            description="front", provisioning_status="ACTIVE", operating_status="ONLINE",
            admin_state_up=False, created_at=dt.datetime(2026, 11, 21, 15, 0, 0, 999),
            updated_at=updated, provider="noop", vip_address="10.0.0.5",
            vip_subnet_id="s1", vip_network_id="n1", vip_port_id="port1", revision=3,
            topology="SINGLE", flavor_id=None, availability_zone="az1"))
        row = conn.execute(select(*table.columns)).one()
    related = loadbalancer_reads.Related()
    for kind, value in (("listener", "l1"), ("listener", "l2"), ("pool", "p1"), ("tag", "b"),
                        ("tag", "a")):
        related.add(kind, row.id, value, None)
    fast = views._of_row(row, related)
    with Session(engine) as session:
        lb = session.get(models.LoadBalancer, row.id)
        assert lb is not None
        lb.listeners = [models.Listener(id="l1"), models.Listener(id="l2")]
        lb.pools = [models.Pool(id="p1")]
        lb.tags = ["b", "a"]
        general = views.loadbalancer_of(lb)

    assert fast == general
    assert list(fast) == list(general)
    assert fast["created_at"] == "2026-11-21T15:00:00"
    assert fast["listeners"] == [{"id": "l1"}, {"id": "l2"}]


def test_every_resource_view_is_its_response_schema() -> None:
    from lbaas.schemas.healthmonitor import HealthMonitorPublic
    from lbaas.schemas.l7 import L7PolicyPublic, L7RulePublic
    from lbaas.schemas.listener import ListenerPublic
    from lbaas.schemas.member import MemberPublic
    from lbaas.schemas.pool import PoolPublic

    engine = create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    now = dt.datetime(2026, 12, 6, 12, 0, 0)
    common = {"project_id": "p1", "provisioning_status": "ACTIVE", "operating_status": "ONLINE",
              "admin_state_up": True, "created_at": now}
    with Session(engine) as session:
        lb = models.LoadBalancer(id="lb", provider="noop", topology="SINGLE", revision=1,
                                 status_changed_at=now, **common)
        pool = models.Pool(id="pool", protocol="HTTP", lb_algorithm="ROUND_ROBIN", **common)
        listener = models.Listener(id="li", protocol="HTTP", protocol_port=80, protocol_kind="tcp",
                                   **common)
        lb.pools, lb.listeners = [pool], [listener]
        listener.default_pool_id = "pool"
        member = models.Member(id="m", address="10.0.0.1", protocol_port=80, weight=1,
                               backup=False, **common)
        pool.members = [member]
        hm = models.HealthMonitor(id="hm", type="TCP", delay=5, timeout=3, max_retries=3,
                                  max_retries_down=3, **common)
        pool.healthmonitor = hm
        policy = models.L7Policy(id="pol", action="REJECT", position=1, **common)
        listener.l7policies = [policy]
        rule = models.L7Rule(id="r", type="PATH", compare_type="EQUAL_TO", value="/x",
                             invert=False, **common)
        policy.rules = [rule]
        session.add(lb)
        session.flush()
        session.refresh(pool, ["default_of_listeners"])
        for view, obj, schema in ((views.listener_view, listener, ListenerPublic),
                                  (views.pool_view, pool, PoolPublic),
                                  (views.member_view, member, MemberPublic),
                                  (views.healthmonitor_view, hm, HealthMonitorPublic),
                                  (views.l7policy_view, policy, L7PolicyPublic),
                                  (views.l7rule_view, rule, L7RulePublic)):
            shown = view(obj)
            # keyed by each field's wire name (its alias if it has one: "lbaas:access_log")
            assert list(shown) == [field.alias or name
                                   for name, field in schema.model_fields.items()]
            schema.model_validate(shown)
        assert views.pool_view(pool)["listeners"] == [{"id": "li"}]
        assert views.pool_view(pool)["tls_versions"] == []  # a list field shows [] for none
        assert views.listener_view(listener)["allowed_cidrs"] is None  # optional list: null
        assert views.listener_view(listener)["created_at"] == "2026-12-06T12:00:00"
