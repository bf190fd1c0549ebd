"""Operating status roll-up (:mod:`lbaas.services.operating`) on trees built in memory."""

from __future__ import annotations

import pytest

from lbaas.core.status import Operating
from lbaas.db import models
from lbaas.services.operating import pools_used_by, rollup


def _pool(pool_id: str, *members: str, monitored: bool = False) -> models.Pool:
    pool = models.Pool(id=pool_id, protocol="HTTP", lb_algorithm="ROUND_ROBIN",
                       admin_state_up=True)
    pool.members = [models.Member(id=m, address="10.0.0.1", protocol_port=80, weight=1,
                                  admin_state_up=True) for m in members]
    if monitored:
        pool.healthmonitor = models.HealthMonitor(id=f"{pool_id}-hm", type="TCP", delay=5,
                                                  timeout=3, max_retries=3, admin_state_up=True)
    return pool


def _tree() -> models.LoadBalancer:
    """A listener with an empty default pool and a redirect to a monitored pool, and a pool
    that no listener uses."""
    empty, target, unused = _pool("empty"), _pool("target", "m1", monitored=True), \
        _pool("unused", "m2", monitored=True)
    policy = models.L7Policy(id="policy", action="REDIRECT_TO_POOL", redirect_pool_id="target",
                             admin_state_up=True)
    policy.rules = []
    listener = models.Listener(id="listener", protocol="HTTP", protocol_port=80,
                               default_pool_id="empty", admin_state_up=True)
    listener.l7policies = [policy]
    lb = models.LoadBalancer(id="lb", admin_state_up=True)
    lb.listeners = [listener]
    lb.pools = [empty, target, unused]
    return lb


def test_pools_used_by_a_listener_are_its_default_then_its_redirect_targets() -> None:
    listener = _tree().listeners[0]
    assert pools_used_by(listener) == ["empty", "target"]
    listener.default_pool_id = "target"
    assert pools_used_by(listener) == ["target"]


@pytest.mark.parametrize(("assume_healthy", "health"), [
    pytest.param(True, {}, id="noop"),
    pytest.param(False, {"m1": Operating.ONLINE, "m2": Operating.ONLINE}, id="haproxy"),
])
def test_an_unused_pool_is_offline_and_a_used_empty_pool_online(
        assume_healthy: bool, health: dict[str, str]) -> None:
    """As in Octavia: a pool no listener uses is OFFLINE whatever its members; a used pool
    without members is ONLINE (HAProxy reports an empty backend UP). The unused pool changes
    nothing above it."""
    out = rollup(_tree(), health, assume_healthy=assume_healthy)
    assert (out["empty"], out["target"], out["unused"]) == \
        (Operating.ONLINE, Operating.ONLINE, Operating.OFFLINE)
    assert (out["listener"], out["lb"]) == (Operating.ONLINE, Operating.ONLINE)


def test_an_unused_pool_with_failing_members_degrades_nothing() -> None:
    out = rollup(_tree(), {"m1": Operating.ONLINE, "m2": Operating.ERROR})
    assert out["unused"] == Operating.OFFLINE and out["m2"] == Operating.ERROR
    assert (out["listener"], out["lb"]) == (Operating.ONLINE, Operating.ONLINE)


def test_a_pool_becomes_online_once_a_listener_uses_it() -> None:
    lb = _tree()
    lb.listeners[0].default_pool_id = "unused"
    out = rollup(lb, {}, assume_healthy=True)
    assert (out["unused"], out["empty"]) == (Operating.ONLINE, Operating.OFFLINE)
