"""Operating status: from member health (as HAProxy decides it) up to pool, listener and LB.

Pure functions over ORM objects. The noop provider assumes every monitored member is healthy; the
haproxy provider passes what the agent read from HAProxy's stats socket.
"""

from __future__ import annotations

from collections.abc import Mapping

from lbaas.db import models
from lbaas.services.state import DEGRADED, DRAINING, ERROR, NO_MONITOR, OFFLINE, ONLINE


def member_status(member: models.Member, pool: models.Pool, health: str | None) -> str:
    """A member's status from its settings and its reported health (ONLINE/ERROR/None)."""
    if not member.admin_state_up or not pool.admin_state_up:
        return OFFLINE
    hm = pool.healthmonitor
    if hm is None or not hm.admin_state_up:
        return NO_MONITOR
    if health is None:
        return OFFLINE
    if health == ONLINE and member.weight == 0:
        return DRAINING
    return health


def pool_status(pool: models.Pool, member_statuses: list[str]) -> str:
    if not pool.admin_state_up:
        return OFFLINE
    counted = [s for s in member_statuses if s != OFFLINE]
    failed = [s for s in counted if s == ERROR]
    if counted and len(failed) == len(counted):
        return ERROR
    if failed:
        return DEGRADED
    return ONLINE


def rollup(lb: models.LoadBalancer, member_health: Mapping[str, str],
           assume_healthy: bool = False) -> dict[str, str]:
    """Operating status of every object in the tree, keyed by id.

    ``member_health`` maps member id -> ONLINE or ERROR as last observed; members missing from it
    count as healthy when ``assume_healthy`` (noop provider), else as not yet known (OFFLINE).
    """
    out: dict[str, str] = {}
    pools: dict[str, str] = {}
    for pool in lb.pools:
        statuses = []
        for m in pool.members:
            health = member_health.get(m.id, ONLINE if assume_healthy else None)
            out[m.id] = member_status(m, pool, health)
            statuses.append(out[m.id])
        pools[pool.id] = pool_status(pool, statuses)
        if pool.healthmonitor is not None:
            out[pool.healthmonitor.id] = ONLINE if pool.healthmonitor.admin_state_up else OFFLINE
    out.update(pools)
    listeners: list[str] = []
    for li in lb.listeners:
        used = [li.default_pool_id] if li.default_pool_id else []
        used += [p.redirect_pool_id for p in li.l7policies if p.redirect_pool_id]
        used_statuses = [pools[i] for i in used if i in pools]
        if not li.admin_state_up:
            status = OFFLINE
        elif used_statuses and all(s == ERROR for s in used_statuses):
            status = ERROR
        elif any(s in (ERROR, DEGRADED) for s in used_statuses):
            status = DEGRADED
        else:
            status = ONLINE
        out[li.id] = status
        listeners.append(status)
        for policy in li.l7policies:
            out[policy.id] = ONLINE if policy.admin_state_up else OFFLINE
            for rule in policy.rules:
                out[rule.id] = ONLINE if rule.admin_state_up else OFFLINE
    enabled = [s for s in listeners if s != OFFLINE]
    if not lb.admin_state_up:
        out[lb.id] = OFFLINE
    elif enabled and all(s == ERROR for s in enabled):
        out[lb.id] = ERROR
    elif any(s in (ERROR, DEGRADED) for s in enabled):
        out[lb.id] = DEGRADED
    else:
        out[lb.id] = ONLINE
    return out
