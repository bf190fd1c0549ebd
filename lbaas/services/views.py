"""ORM objects and plain rows -> Octavia v2 wire dicts: one view per resource. Pure functions
(the queries they need are in :mod:`lbaas.db.loadbalancer_reads`); the API and the CLI output
rely on them.

Each view lays out the fields of the resource's response schema (``PoolPublic``, …) in its
order: a field that is a column of the model is copied (timestamps in Octavia's format, lists and
dicts normalised as the schema's type says), the others (relations, ``tenant_id``, tags) are
computed here. So a new column shows in the API by adding it to the response schema only. Dicts
are built without pydantic because list responses of a thousand objects are a hot path; tests
validate every response against the published schemas.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from sqlalchemy import DateTime
from sqlalchemy.orm import Session

from lbaas.db import loadbalancer_reads, models
from lbaas.db.loadbalancer_reads import COLUMNS as _LB_COLUMNS
from lbaas.schemas.healthmonitor import HealthMonitorPublic
from lbaas.schemas.l7 import L7PolicyPublic, L7RulePublic
from lbaas.schemas.listener import ListenerPublic
from lbaas.schemas.member import MemberPublic
from lbaas.schemas.pool import PoolPublic
from lbaas.services import operating

View = dict[str, Any]


def timestamp(value: dt.datetime | None) -> str | None:
    """Octavia's timestamp format: ISO 8601, seconds, no zone."""
    return value.isoformat(timespec="seconds") if value else None


def _converter(annotation: Any, is_time: bool) -> Callable[[Any], Any]:
    """How a column's value becomes the response field typed ``annotation``: a list or dict
    field shows ``[]``/``{}`` for no value, an optional list shows ``null`` for an empty one."""
    if is_time:
        return timestamp
    origin = get_origin(annotation)
    if origin is list:
        return lambda value: list(value or [])
    if origin is dict:
        return lambda value: dict(value or {})
    if origin in (Union, types.UnionType) and any(get_origin(arg) is list
                                                  for arg in get_args(annotation)):
        return lambda value: list(value) if value else None
    return lambda value: value


class ResourceView:
    """The view of one kind: the fields of ``public`` in order, columns of ``model`` copied,
    the rest from ``computed(obj)`` (plus ``tenant_id`` and ``tags``, which every kind has)."""

    def __init__(self, public: type[BaseModel], model: type[Any],
                 computed: Callable[[Any], View] = lambda obj: {}) -> None:
        columns = model.__table__.columns
        self._computed = computed
        # (key, field, how to convert its column) in the schema's order; None: computed, not a
        # column. The key is the field's alias if it has one ("lbaas:access_log").
        self._plan: list[tuple[str, str, Callable[[Any], Any] | None]] = [
            (field.alias or name, name,
             _converter(field.annotation, isinstance(columns[name].type, DateTime))
             if name in columns else None)
            for name, field in public.model_fields.items()]

    def __call__(self, obj: Any) -> View:
        extra = {"tenant_id": obj.project_id, "tags": obj.tags, **self._computed(obj)}
        return {key: extra[name] if convert is None else convert(getattr(obj, name))
                for key, name, convert in self._plan}


def _ids(ids: Sequence[str]) -> list[dict[str, str]]:
    return [{"id": i} for i in ids]


listener_view = ResourceView(ListenerPublic, models.Listener, lambda li: {
    "l7policies": _ids([p.id for p in li.l7policies]),
    "loadbalancers": _ids([li.load_balancer_id])})


def _pool_listener_ids(pool: models.Pool) -> list[str]:
    return list(dict.fromkeys([li.id for li in pool.default_of_listeners]
                              + [p.listener_id for p in pool.redirecting_policies]))


pool_view = ResourceView(PoolPublic, models.Pool, lambda pool: {
    "loadbalancers": _ids([pool.load_balancer_id]),
    "listeners": _ids(_pool_listener_ids(pool)),
    "members": _ids([m.id for m in pool.members]),
    "healthmonitor_id": pool.healthmonitor.id if pool.healthmonitor else None})
member_view = ResourceView(MemberPublic, models.Member)
healthmonitor_view = ResourceView(HealthMonitorPublic, models.HealthMonitor, lambda hm: {
    "pools": _ids([hm.pool_id])})
l7policy_view = ResourceView(L7PolicyPublic, models.L7Policy, lambda p: {
    "rules": _ids([r.id for r in p.rules])})
l7rule_view = ResourceView(L7RulePublic, models.L7Rule)


def loadbalancer_view(lb: Mapping[str, Any], listeners: list[Any], pools: list[Any],
                      tags: list[str]) -> View:
    """The view of a load balancer from its column values, its listeners and pools (``{"id"}``
    references, or whole views in a single-call create's answer) and its tags."""
    created, updated = lb["created_at"], lb["updated_at"]
    return {
        "id": lb["id"], "name": lb["name"], "project_id": lb["project_id"],
        "tenant_id": lb["project_id"], "provisioning_status": lb["provisioning_status"],
        "operating_status": lb["operating_status"], "admin_state_up": lb["admin_state_up"],
        "created_at": created.isoformat(timespec="seconds") if created else None,
        "updated_at": updated.isoformat(timespec="seconds") if updated else None,
        "tags": tags, "description": lb["description"], "vip_address": lb["vip_address"],
        "vip_port_id": lb["vip_port_id"], "vip_subnet_id": lb["vip_subnet_id"],
        "vip_network_id": lb["vip_network_id"], "vip_qos_policy_id": lb["vip_qos_policy_id"],
        "additional_vips": [], "provider": lb["provider"], "flavor_id": lb["flavor_id"],
        "availability_zone": lb["availability_zone"], "vip_vnic_type": "normal",
        "listeners": listeners, "pools": pools,
    }


def loadbalancer_of(lb: models.LoadBalancer, full: bool = False) -> View:
    """:func:`loadbalancer_view` of an ORM object; ``full`` embeds whole listeners and pools
    (the answer to a single-call create)."""
    values = {column: getattr(lb, column) for column in _LB_COLUMNS}
    if full:
        return loadbalancer_view(values, [listener_view(li) for li in lb.listeners],
                                 [pool_view(p) for p in lb.pools], lb.tags)
    return loadbalancer_view(values, _ids([li.id for li in lb.listeners]),
                             _ids([p.id for p in lb.pools]), lb.tags)


def _of_row(row: Sequence[Any], related: loadbalancer_reads.Related) -> View:
    """:func:`loadbalancer_view` of a plain row of every column, in table order: twice as fast
    as going through the ORM (the hot path of list and show)."""
    values = dict(zip(_LB_COLUMNS, row, strict=True))
    lb_id = values["id"]
    return loadbalancer_view(values, _ids(related.ids("listener", lb_id)),
                             _ids(related.ids("pool", lb_id)), related.ids("tag", lb_id))


def loadbalancer_views(session: Session, rows: Sequence[Any]) -> list[View]:
    """Many load balancers from plain rows; their listeners, pools and tags in one query."""
    related = loadbalancer_reads.related_of(session, [r.id for r in rows])
    return [_of_row(row, related) for row in rows]


def loadbalancer_show(session: Session, lb_id: str, scope_project: str | None) -> View | None:
    """The view of load balancer ``lb_id`` (None if it does not exist or, when
    ``scope_project`` is given, belongs to another project), from one query."""
    found = loadbalancer_reads.one_with_related(session, lb_id, scope_project)
    return None if found is None else _of_row(*found)


def _status(obj: Any, **extra: Any) -> dict[str, Any]:
    out = {"id": obj.id, "name": obj.name, "provisioning_status": obj.provisioning_status,
           "operating_status": obj.operating_status}
    out.update(extra)
    return out


def status_tree(lb: models.LoadBalancer) -> dict[str, Any]:
    """The ``/status`` document, shaped as Octavia's: the load balancer, its listeners, under
    each listener the pools it uses (default pool, then L7 redirect targets), under each pool
    its health monitor (key ``health_monitor``, absent without one) and its members. A pool no
    listener uses does not appear; L7 policies and rules do not either."""
    pools_by_id = {p.id: p for p in lb.pools}

    def pool_status(pool: models.Pool) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if pool.healthmonitor:
            extra["health_monitor"] = _status(pool.healthmonitor, type=pool.healthmonitor.type)
        extra["members"] = [_status(m, address=m.address, protocol_port=m.protocol_port)
                            for m in pool.members]
        return _status(pool, **extra)

    listeners = [
        _status(li, pools=[pool_status(pools_by_id[i]) for i in operating.pools_used_by(li)
                           if i in pools_by_id])
        for li in lb.listeners]
    return {"statuses": {"loadbalancer": _status(lb, listeners=listeners)}}
