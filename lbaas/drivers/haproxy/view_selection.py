"""Which parts of the load balancer tree get a section in haproxy.cfg, and in what order.

Shared by the view builders (:mod:`.view`, :mod:`.view_frontends`, :mod:`.view_backends`):

* Listeners HTTP, TERMINATED_HTTPS (``mode http`` behind TLS), TCP and HTTPS (TLS passthrough,
  ``mode tcp``) and PROMETHEUS (``mode http``, :mod:`.view_metrics`) get a frontend; UDP and SCTP
  listeners and UDP/SCTP pools are skipped without output. An unknown
  protocol raises :class:`.escaping.UnsafeConfigValue`. Disabled objects, objects in
  PENDING_DELETE (listeners, pools, members, monitors, L7 policies and rules: the deletion the
  agent applies; the server removes the row once it reports, without a new revision) and every
  frontend of a disabled load balancer are left out.
* HAProxy runs a frontend's rules by directive, not by line, so L7 policies act as in Octavia:
  REJECT first, then REDIRECT_TO_URL/REDIRECT_PREFIX, then REDIRECT_TO_POOL, each group in
  position order. Policies without enabled rules, and pool redirects to a pool that is not
  rendered, are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lbaas.core.status import Provisioning
from lbaas.core.tree import (
    L7PolicyNode,
    L7RuleNode,
    ListenerNode,
    LoadBalancerTree,
    PoolNode,
)
from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue

__all__ = [
    "LISTENER_MODES",
    "View",
    "active_policies",
    "default_pool_id",
    "enabled_rules",
    "listeners_using",
    "rendered_pools",
    "served_listeners",
    "terminates_tls",
]

View = dict[str, Any]
"""The plain dicts the view is made of: validated values only, ready for the templates."""

PENDING_DELETE = Provisioning.PENDING_DELETE

LISTENER_MODES = {
    "HTTP": "http", "TERMINATED_HTTPS": "http", "TCP": "tcp", "HTTPS": "tcp", "PROMETHEUS": "http",
}
SKIPPED_LISTENER_PROTOCOLS = frozenset({"UDP", "SCTP"})
CHILDLESS_LISTENER_PROTOCOLS = frozenset({"PROMETHEUS"})
"""Listeners that never route to a pool (the API refuses their pools and policies)."""
POOL_PROTOCOLS = frozenset({"HTTP", "HTTPS", "TCP", "PROXY", "PROXYV2"})
SKIPPED_POOL_PROTOCOLS = frozenset({"UDP", "SCTP"})
POLICY_ORDER = {"REJECT": 0, "REDIRECT_TO_URL": 1, "REDIRECT_PREFIX": 1, "REDIRECT_TO_POOL": 2}


def rendered_pools(pools: Iterable[PoolNode]) -> dict[str, PoolNode]:
    """Pools that get a backend, by id: supported protocol, enabled, not being deleted."""
    rendered: dict[str, PoolNode] = {}
    for pool in pools:
        if pool.protocol in SKIPPED_POOL_PROTOCOLS:
            continue
        if pool.protocol not in POOL_PROTOCOLS:
            raise UnsafeConfigValue(f"pool {pool.id!r} has unknown protocol {pool.protocol!r}")
        pool_id = esc.config_id(pool.id, "pool id")
        if pool_id in rendered:
            raise UnsafeConfigValue(f"duplicate pool id: {pool_id!r}")
        if pool.admin_state_up and pool.provisioning_status != PENDING_DELETE:
            rendered[pool_id] = pool
    return rendered


def served_listeners(tree: LoadBalancerTree) -> list[ListenerNode]:
    """Listeners that get a frontend; none at all when the load balancer is disabled."""
    served = []
    for listener in tree.listeners:
        if listener.protocol in SKIPPED_LISTENER_PROTOCOLS:
            continue
        if listener.protocol not in LISTENER_MODES:
            raise UnsafeConfigValue(
                f"listener {listener.id!r} has unknown protocol {listener.protocol!r}"
            )
        if listener.admin_state_up and listener.provisioning_status != PENDING_DELETE:
            served.append(listener)
    return served if tree.admin_state_up else []


def terminates_tls(listener: ListenerNode) -> bool:
    """TERMINATED_HTTPS, or a PROMETHEUS listener with a certificate (its metrics over HTTPS)."""
    return listener.protocol == "TERMINATED_HTTPS" or (
        listener.protocol in CHILDLESS_LISTENER_PROTOCOLS
        and (listener.default_tls is not None or bool(listener.sni_tls)))


def enabled_rules(policy: L7PolicyNode) -> list[L7RuleNode]:
    return [rule for rule in policy.rules
            if rule.admin_state_up and rule.provisioning_status != PENDING_DELETE]


def active_policies(
    listener: ListenerNode, pools: dict[str, PoolNode]
) -> list[L7PolicyNode]:
    """The listener's policies that take effect, in HAProxy's evaluation order."""
    if (LISTENER_MODES[listener.protocol] != "http"
            or listener.protocol in CHILDLESS_LISTENER_PROTOCOLS):
        return []
    for policy in listener.l7policies:
        if policy.action not in POLICY_ORDER:
            raise UnsafeConfigValue(f"L7 policy {policy.id!r} has unknown action {policy.action!r}")
    active = [
        policy
        for policy in listener.l7policies
        if policy.admin_state_up
        and policy.provisioning_status != PENDING_DELETE
        and enabled_rules(policy)
        and (policy.action != "REDIRECT_TO_POOL" or policy.redirect_pool_id in pools)
    ]
    return sorted(active, key=lambda policy: (POLICY_ORDER[policy.action], policy.position))


def default_pool_id(listener: ListenerNode, pools: dict[str, PoolNode]) -> str | None:
    if listener.protocol in CHILDLESS_LISTENER_PROTOCOLS:
        return None
    return listener.default_pool_id if listener.default_pool_id in pools else None


def listeners_using(
    pool_id: str, listeners: Iterable[ListenerNode], pools: dict[str, PoolNode]
) -> list[ListenerNode]:
    """Served listeners whose frontend routes to ``pool_id`` (by default or by L7 policy)."""
    return [
        listener
        for listener in listeners
        if default_pool_id(listener, pools) == pool_id
        or any(p.redirect_pool_id == pool_id for p in active_policies(listener, pools))
    ]
