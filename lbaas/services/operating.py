"""Operating status: from member health (as HAProxy decides it) up to pool, listener and LB.

Pure functions over ORM objects. The noop provider assumes every monitored member is healthy; the
haproxy provider passes what the agent read from HAProxy's stats socket.
"""

from __future__ import annotations

from collections.abc import Mapping

from lbaas.core.amphora import AmphoraStatus
from lbaas.core.status import Operating
from lbaas.db import models


def member_status(member: models.Member, pool: models.Pool, health: str | None) -> str:
    """A member's status from its settings and its reported health (ONLINE/ERROR/None)."""
    if not member.admin_state_up or not pool.admin_state_up:
        return Operating.OFFLINE
    hm = pool.healthmonitor
    if hm is None or not hm.admin_state_up:
        return Operating.NO_MONITOR
    if health is None:
        return Operating.OFFLINE
    if health == Operating.ONLINE and member.weight == 0:
        return Operating.DRAINING
    return health


def pools_used_by(listener: models.Listener) -> list[str]:
    """Ids of the pools ``listener`` sends traffic to: its default pool, then the targets of its
    REDIRECT_TO_POOL policies, each once, in that order."""
    used = [listener.default_pool_id] if listener.default_pool_id else []
    used += [p.redirect_pool_id for p in listener.l7policies if p.redirect_pool_id]
    return list(dict.fromkeys(used))


def _enabled(admin_state_up: bool) -> str:
    """The status of an object that has no health of its own (monitors, L7 policies and rules)."""
    return Operating.ONLINE if admin_state_up else Operating.OFFLINE


def pool_status(pool: models.Pool, member_statuses: list[str], in_use: bool = True) -> str:
    """A pool's status from its members'. A pool no listener uses (neither as default pool nor
    as an L7 redirect target) is OFFLINE, as in Octavia, where nothing serves or reports it; a
    used pool without members is ONLINE (HAProxy reports an empty backend UP, and so does
    Octavia's health manager)."""
    if not pool.admin_state_up or not in_use:
        return Operating.OFFLINE
    counted = [s for s in member_statuses if s != Operating.OFFLINE]
    failed = [s for s in counted if s == Operating.ERROR]
    if counted and len(failed) == len(counted):
        return Operating.ERROR
    if failed:
        return Operating.DEGRADED
    return Operating.ONLINE


def rollup(lb: models.LoadBalancer, member_health: Mapping[str, str],
           assume_healthy: bool = False) -> dict[str, str]:
    """Operating status of every object in the tree, keyed by id.

    ``member_health`` maps member id -> ONLINE or ERROR as last observed; members missing from it
    count as healthy when ``assume_healthy`` (noop provider), else as not yet known (OFFLINE).
    """
    out: dict[str, str] = {}
    pools: dict[str, str] = {}
    in_use = {pool_id for li in lb.listeners for pool_id in pools_used_by(li)}
    for pool in lb.pools:
        statuses = []
        for m in pool.members:
            health = member_health.get(m.id, Operating.ONLINE if assume_healthy else None)
            out[m.id] = member_status(m, pool, health)
            statuses.append(out[m.id])
        pools[pool.id] = pool_status(pool, statuses, pool.id in in_use)
        if pool.healthmonitor is not None:
            out[pool.healthmonitor.id] = _enabled(pool.healthmonitor.admin_state_up)
    out.update(pools)
    listeners: list[str] = []
    for li in lb.listeners:
        used_statuses = [pools[i] for i in pools_used_by(li) if i in pools]
        if not li.admin_state_up:
            status = Operating.OFFLINE
        elif used_statuses and all(s == Operating.ERROR for s in used_statuses):
            status = Operating.ERROR
        elif any(s in (Operating.ERROR, Operating.DEGRADED) for s in used_statuses):
            status = Operating.DEGRADED
        else:
            status = Operating.ONLINE
        out[li.id] = status
        listeners.append(status)
        for policy in li.l7policies:
            out[policy.id] = _enabled(policy.admin_state_up)
            for rule in policy.rules:
                out[rule.id] = _enabled(rule.admin_state_up)
    enabled = [s for s in listeners if s != Operating.OFFLINE]
    if not lb.admin_state_up:
        out[lb.id] = Operating.OFFLINE
    elif enabled and all(s == Operating.ERROR for s in enabled):
        out[lb.id] = Operating.ERROR
    elif any(s in (Operating.ERROR, Operating.DEGRADED) for s in enabled):
        out[lb.id] = Operating.DEGRADED
    else:
        out[lb.id] = Operating.ONLINE
    out[lb.id] = _with_copies(lb, out[lb.id])
    return out


def _with_copies(lb: models.LoadBalancer, computed: str) -> str:
    """An ACTIVE_STANDBY load balancer with a copy not built (lost, being rebuilt) serves
    through one copy only: DEGRADED; with no copy built, ERROR."""
    if not lb.amphorae or computed not in (Operating.ONLINE, Operating.DEGRADED):
        return computed
    built = [a for a in lb.amphorae if a.status == AmphoraStatus.ALLOCATED]
    if not built:
        return Operating.ERROR
    if len(built) < len(lb.amphorae):
        return Operating.DEGRADED
    return computed
