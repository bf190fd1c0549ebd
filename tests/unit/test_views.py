"""The fast row views render exactly what the general views render."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, insert, select

from lbaas.db import models
from lbaas.services import views


@pytest.mark.parametrize("updated", [None, dt.datetime(2026, 11, 21, 15, 4, 5, 123456)])
def test_loadbalancer_row_view_matches_loadbalancer_view(updated: dt.datetime | None) -> None:
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
    listeners, pools, tags = ["l1", "l2"], ["p1"], ["a", "b"]

    fast = views.loadbalancer_row_view(row, listeners, pools, tags)
    general = views.loadbalancer_view(row, listener_ids=listeners, pool_ids=pools, tags=tags)

    assert fast == general
    assert list(fast) == list(general)
    assert fast["created_at"] == "2026-11-21T15:00:00"
    assert fast["listeners"] == [{"id": "l1"}, {"id": "l2"}]
