"""Build ORM objects from validated request schemas, with Octavia's defaults.

Shared by the per-resource creates and the single-call create of a whole tree, so both apply the
same defaults and the same cross-object rules.
"""

from __future__ import annotations

from typing import Any

from lbaas.core.errors import Conflict, InvalidInput
from lbaas.core.status import Operating, Provisioning
from lbaas.db import models
from lbaas.schemas.healthmonitor import HealthMonitorGraph
from lbaas.schemas.l7 import L7PolicyGraph, L7RuleCreate
from lbaas.schemas.listener import ListenerCreate, ListenerGraph
from lbaas.schemas.member import MemberCreate
from lbaas.schemas.pool import PoolCreate, PoolGraph
from lbaas.services import validation

LISTENER_DEFAULTS: dict[str, Any] = {
    "connection_limit": -1, "timeout_client_data": 50000, "timeout_member_connect": 5000,
    "timeout_member_data": 50000, "timeout_tcp_inspect": 0, "client_authentication": "NONE",
    "hsts_include_subdomains": False, "hsts_preload": False, "admin_state_up": True,
    "name": "", "description": "",
}
HM_HTTP_DEFAULTS: dict[str, Any] = {"http_method": "GET", "url_path": "/", "expected_codes": "200"}
LIST_FIELDS = ("sni_container_refs", "allowed_cidrs", "tls_versions", "alpn_protocols")
CLEARABLE = (*LIST_FIELDS, "insert_headers", "name", "description", "tags")


def _base(model: type, project_id: str, values: dict[str, Any]) -> Any:
    tags = values.pop("tags", None) or []
    for key in ("project_id", "tenant_id"):
        values.pop(key, None)
    obj = model(id=models.new_id(), project_id=project_id,
                provisioning_status=Provisioning.PENDING_CREATE,
                operating_status=Operating.OFFLINE)
    for key, value in values.items():
        setattr(obj, key, value)
    obj.tags = tags
    return obj


def set_fields(obj: Any, values: dict[str, Any]) -> None:
    """Apply a partial update (``model_dump(exclude_unset=True)``) to ``obj``.

    ``null`` clears names, descriptions, lists and tags; for attributes that always have a
    value (admin_state_up, weight, timeouts, …) it is a 400 naming the attribute.
    """
    columns = type(obj).__table__.columns
    for key, value in values.items():
        if value is None and key in columns and not columns[key].nullable and \
                key not in CLEARABLE:
            raise InvalidInput(f"Invalid input for field/attribute {key}. Value: None. "
                               f"{key} cannot be null.")
    for key, value in values.items():
        if key == "tags":
            obj.tags = value or []
        elif key in LIST_FIELDS and value is None:
            setattr(obj, key, [])
        elif key == "insert_headers" and value is None:
            setattr(obj, key, {})
        elif key in ("name", "description") and value is None:
            setattr(obj, key, "")
        else:
            setattr(obj, key, value)


def _clean(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if v is not None}
    for key, value in defaults.items():
        out.setdefault(key, value)
    return out


def new_listener(lb: models.LoadBalancer, data: ListenerCreate | ListenerGraph) -> models.Listener:
    values = _clean(data.model_dump(exclude={"loadbalancer_id", "default_pool", "l7policies"}),
                    LISTENER_DEFAULTS)
    for key in LIST_FIELDS:
        values.setdefault(key, [])
    values.setdefault("insert_headers", {})
    validation.check_listener_fields(data.protocol, values, lb.vip_address)
    validation.check_port_free(data.protocol, data.protocol_port,
                               [(li.protocol, li.protocol_port, li.id) for li in lb.listeners],
                               lb.id)
    listener: models.Listener = _base(models.Listener, lb.project_id, values)
    listener.protocol_kind = validation.protocol_kind(data.protocol)
    listener.load_balancer_id = lb.id
    lb.listeners.append(listener)
    return listener


def new_pool(lb: models.LoadBalancer, data: PoolCreate | PoolGraph) -> models.Pool:
    values = _clean(data.model_dump(exclude={"loadbalancer_id", "listener_id", "members",
                                             "healthmonitor"}),
                    {"name": "", "description": "", "admin_state_up": True, "tls_enabled": False})
    values.setdefault("tls_versions", [])
    values.setdefault("alpn_protocols", [])
    validation.check_pool_fields(data.protocol, values.get("session_persistence"))
    validation.check_pool_ramps(data.lb_algorithm, values.get("drain_timeout"),
                                values.get("slow_start"))
    pool: models.Pool = _base(models.Pool, lb.project_id, values)
    pool.load_balancer_id = lb.id
    lb.pools.append(pool)
    if isinstance(data, PoolGraph):
        for member in data.members:
            new_member(pool, member)
        if data.healthmonitor is not None:
            new_healthmonitor(pool, data.healthmonitor)
    return pool


def new_member(pool: models.Pool, data: MemberCreate) -> models.Member:
    for other in pool.members:
        if other.address == data.address and other.protocol_port == data.protocol_port:
            raise_duplicate_member(pool.id, data.address, data.protocol_port)
    values = _clean(data.model_dump(), {"name": "", "weight": 1, "admin_state_up": True,
                                        "backup": False})
    member: models.Member = _base(models.Member, pool.project_id, values)
    member.pool_id = pool.id
    pool.members.append(member)
    return member


def raise_duplicate_member(pool_id: str, address: str, port: int) -> None:
    raise Conflict(f"Another member on pool {pool_id} is already using ip address {address} "
                   f"and port {port}.")


def new_healthmonitor(pool: models.Pool, data: HealthMonitorGraph) -> models.HealthMonitor:
    validation.check_monitor_for_pool(data.type, pool.protocol)
    defaults: dict[str, Any] = {"name": "", "admin_state_up": True, "max_retries_down": 3}
    if data.type in ("HTTP", "HTTPS"):
        defaults.update(HM_HTTP_DEFAULTS)
    values = _clean(data.model_dump(exclude={"pool_id"}), defaults)
    hm: models.HealthMonitor = _base(models.HealthMonitor, pool.project_id, values)
    hm.pool_id = pool.id
    pool.healthmonitor = hm
    return hm


def new_l7policy(listener: models.Listener, data: L7PolicyGraph | Any,
                 redirect_pool: models.Pool | None) -> models.L7Policy:
    validation.check_l7_listener(listener.protocol)
    values = _clean(data.model_dump(exclude={"listener_id", "rules", "redirect_pool"}),
                    {"name": "", "description": "", "admin_state_up": True})
    if values["action"] in ("REDIRECT_TO_URL", "REDIRECT_PREFIX"):
        values.setdefault("redirect_http_code", 302)
    if redirect_pool is not None:
        validation.check_listener_pool(listener.protocol, redirect_pool.protocol,
                                       redirect_pool.id)
        values["redirect_pool_id"] = redirect_pool.id
    position = values.pop("position", None)
    policy: models.L7Policy = _base(models.L7Policy, listener.project_id, values)
    policy.listener_id = listener.id
    insert_policy(listener, policy, position)
    if len(data.rules) > 50:
        raise InvalidInput("An L7 policy may have at most 50 rules.")
    for rule in data.rules:
        new_l7rule(policy, rule)
    return policy


def insert_policy(listener: models.Listener, policy: models.L7Policy, position: int | None
                  ) -> None:
    """Place ``policy`` at ``position`` (1-based; past the end appends) and renumber."""
    ordered = sorted((p for p in listener.l7policies if p is not policy),
                     key=lambda p: p.position)
    index = len(ordered) if position is None else min(max(position, 1) - 1, len(ordered))
    ordered.insert(index, policy)
    for i, p in enumerate(ordered, start=1):
        p.position = i
    if policy not in listener.l7policies:
        listener.l7policies.append(policy)


def new_l7rule(policy: models.L7Policy, data: L7RuleCreate) -> models.L7Rule:
    if len(policy.rules) >= 50:
        raise InvalidInput(f"L7 policy {policy.id} already has the maximum of 50 rules.")
    values = _clean(data.model_dump(), {"admin_state_up": True, "invert": False})
    rule: models.L7Rule = _base(models.L7Rule, policy.project_id, values)
    rule.l7policy_id = policy.id
    policy.rules.append(rule)
    return rule
