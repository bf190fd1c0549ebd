"""ORM objects -> Octavia v2 wire dicts. Pure functions; the API and the CLI output rely on them.

Dicts are built by hand (not through pydantic) because list responses of a thousand objects are a
hot path; tests validate every response against the published schemas.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    DateTime,
    String,
    any_,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from lbaas.db import models


def timestamp(value: dt.datetime | None) -> str | None:
    """Octavia's timestamp format: ISO 8601, seconds, no zone."""
    return value.isoformat(timespec="seconds") if value else None


def _common(obj: Any, tags: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": obj.id, "name": obj.name, "project_id": obj.project_id,
        "tenant_id": obj.project_id, "provisioning_status": obj.provisioning_status,
        "operating_status": obj.operating_status, "admin_state_up": obj.admin_state_up,
        "created_at": timestamp(obj.created_at), "updated_at": timestamp(obj.updated_at),
        "tags": obj.tags if tags is None else tags,
    }


def loadbalancer_views(session: Session, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Many load balancers from plain rows; their listeners, pools and tags in one query."""
    listeners, pools, tags = loadbalancer_related(session, [r.id for r in rows])
    return [loadbalancer_row_view(r, listeners.get(r.id, ()), pools.get(r.id, ()),
                                  tags.get(r.id, []))
            for r in rows]


_LB_COLUMNS = tuple(column.key for column in models.LoadBalancer.__table__.columns)


def loadbalancer_row_view(row: Sequence[Any], listener_ids: Sequence[str],
                          pool_ids: Sequence[str], tags: list[str]) -> dict[str, Any]:
    """:func:`loadbalancer_view` of a plain row of every column of the table, in table order
    (``select(*table.columns)``). Same output, twice as fast: the hot path of list and show
    (attribute access on a row costs more than building the dict)."""
    lb = dict(zip(_LB_COLUMNS, row, strict=True))
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
        "listeners": [{"id": i} for i in listener_ids], "pools": [{"id": i} for i in pool_ids],
    }


def _id_in(column: Any, dialect: str) -> Any:
    """``column IN :ids``. On PostgreSQL ``= ANY(:ids)`` with one array parameter: an IN list
    of hundreds of placeholders is too long for psycopg's query cache and is parsed again on
    every execution."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(String())))
    return column.in_(bindparam("ids", expanding=True))


def _related_union(owner_is: Any) -> Any:
    """(kind, owner, value, created) of the listeners, pools and tags whose load balancer
    satisfies ``owner_is(column)``."""
    listener, pool, tag = (models.Listener.__table__, models.Pool.__table__,
                           models.Tag.__table__)
    no_time = cast(null(), DateTime())
    return union_all(
        select(literal_column("'listener'").label("kind"),
               listener.c.load_balancer_id.label("owner"), listener.c.id.label("value"),
               listener.c.created_at.label("created"))
        .where(owner_is(listener.c.load_balancer_id)),
        select(literal_column("'pool'"), pool.c.load_balancer_id, pool.c.id, pool.c.created_at)
        .where(owner_is(pool.c.load_balancer_id)),
        select(literal_column("'tag'"), tag.c.resource_id, tag.c.tag, no_time)
        .where(owner_is(tag.c.resource_id)),
    )


@functools.cache
def _related_statement(dialect: str) -> Any:
    return _related_union(lambda column: _id_in(column, dialect))


@functools.cache
def _show_statement(scoped: bool) -> Any:
    """One load balancer's columns, then (kind, value, created) of one related object per row
    (NULLs when it has none): the whole show in one round trip."""
    table = models.LoadBalancer.__table__
    related = _related_union(lambda column: column == bindparam("id")).subquery()
    stmt = (select(*table.columns, related.c.kind, related.c.value, related.c.created)
            .select_from(table.outerjoin(related, related.c.owner == table.c.id))
            .where(table.c.id == bindparam("id")))
    if scoped:
        stmt = stmt.where(table.c.project_id == bindparam("project_id"))
    return stmt


_Related = dict[str, dict[str, list[tuple[Any, str]]]]


def _ordered(found: _Related, kind: str) -> dict[str, list[str]]:
    """Listener and pool ids in creation order, tags sorted."""
    key = (lambda item: item[1]) if kind == "tag" else None
    return {owner: [value for _, value in sorted(items, key=key)]
            for owner, items in found[kind].items()}


def loadbalancer_related(session: Session, ids: list[str]
                         ) -> tuple[dict[str, list[str]], dict[str, list[str]],
                                    dict[str, list[str]]]:
    """Listener ids, pool ids (each in creation order) and tags (sorted) of load balancers
    ``ids``, each keyed by load balancer id, from one round trip."""
    found: _Related = {"listener": {}, "pool": {}, "tag": {}}
    if ids:
        conn = session.connection()
        stmt = _related_statement(conn.dialect.name)
        for kind, owner, value, created in conn.execute(stmt, {"ids": ids}):
            found[kind].setdefault(owner, []).append((created, value))
    return _ordered(found, "listener"), _ordered(found, "pool"), _ordered(found, "tag")


def loadbalancer_show(session: Session, lb_id: str, scope_project: str | None
                      ) -> dict[str, Any] | None:
    """The view of load balancer ``lb_id`` (None if it does not exist or, when
    ``scope_project`` is given, belongs to another project), from one query."""
    params = {"id": lb_id}
    if scope_project is not None:
        params["project_id"] = scope_project
    rows = session.connection().execute(_show_statement(scope_project is not None),
                                        params).all()
    if not rows:
        return None
    width = len(_LB_COLUMNS)
    found: _Related = {"listener": {}, "pool": {}, "tag": {}}
    for row in rows:
        kind, value, created = row[width:]
        if kind is not None:
            found[kind].setdefault(lb_id, []).append((created, value))
    return loadbalancer_row_view(rows[0][:width], _ordered(found, "listener").get(lb_id, []),
                                 _ordered(found, "pool").get(lb_id, []),
                                 _ordered(found, "tag").get(lb_id, []))


def loadbalancer_view(lb: Any, full: bool = False, listener_ids: list[str] | None = None,
                      pool_ids: list[str] | None = None, tags: list[str] | None = None
                      ) -> dict[str, Any]:
    """A load balancer (ORM object, or a plain row with the related ids given);
    ``full`` embeds whole listeners and pools (single-call create)."""
    out = _common(lb, tags)
    out.update({
        "description": lb.description, "vip_address": lb.vip_address,
        "vip_port_id": lb.vip_port_id, "vip_subnet_id": lb.vip_subnet_id,
        "vip_network_id": lb.vip_network_id, "vip_qos_policy_id": lb.vip_qos_policy_id,
        "additional_vips": [], "provider": lb.provider, "flavor_id": lb.flavor_id,
        "availability_zone": lb.availability_zone, "vip_vnic_type": "normal",
    })
    if full:
        out["listeners"] = [listener_view(li) for li in lb.listeners]
        out["pools"] = [pool_view(p) for p in lb.pools]
    elif listener_ids is not None and pool_ids is not None:
        out["listeners"] = [{"id": i} for i in listener_ids]
        out["pools"] = [{"id": i} for i in pool_ids]
    else:
        out["listeners"] = [{"id": li.id} for li in lb.listeners]
        out["pools"] = [{"id": p.id} for p in lb.pools]
    return out


def listener_view(li: models.Listener) -> dict[str, Any]:
    out = _common(li)
    out.update({
        "description": li.description, "protocol": li.protocol,
        "protocol_port": li.protocol_port, "connection_limit": li.connection_limit,
        "default_tls_container_ref": li.default_tls_container_ref,
        "sni_container_refs": list(li.sni_container_refs or []),
        "default_pool_id": li.default_pool_id,
        "l7policies": [{"id": p.id} for p in li.l7policies],
        "insert_headers": dict(li.insert_headers or {}),
        "loadbalancers": [{"id": li.load_balancer_id}],
        "timeout_client_data": li.timeout_client_data,
        "timeout_member_connect": li.timeout_member_connect,
        "timeout_member_data": li.timeout_member_data,
        "timeout_tcp_inspect": li.timeout_tcp_inspect,
        "client_ca_tls_container_ref": li.client_ca_tls_container_ref,
        "client_authentication": li.client_authentication,
        "client_crl_container_ref": li.client_crl_container_ref,
        "allowed_cidrs": list(li.allowed_cidrs) if li.allowed_cidrs else None,
        "tls_ciphers": li.tls_ciphers, "tls_versions": list(li.tls_versions or []) or None,
        "alpn_protocols": list(li.alpn_protocols or []) or None,
        "hsts_max_age": li.hsts_max_age, "hsts_include_subdomains": li.hsts_include_subdomains,
        "hsts_preload": li.hsts_preload,
    })
    return out


def pool_view(pool: models.Pool) -> dict[str, Any]:
    listener_ids = dict.fromkeys([li.id for li in pool.default_of_listeners]
                                 + [p.listener_id for p in pool.redirecting_policies])
    out = _common(pool)
    out.update({
        "description": pool.description, "protocol": pool.protocol,
        "lb_algorithm": pool.lb_algorithm, "session_persistence": pool.session_persistence,
        "loadbalancers": [{"id": pool.load_balancer_id}],
        "listeners": [{"id": i} for i in listener_ids],
        "members": [{"id": m.id} for m in pool.members],
        "healthmonitor_id": pool.healthmonitor.id if pool.healthmonitor else None,
        "tls_enabled": pool.tls_enabled, "tls_container_ref": pool.tls_container_ref,
        "ca_tls_container_ref": pool.ca_tls_container_ref,
        "crl_container_ref": pool.crl_container_ref, "tls_ciphers": pool.tls_ciphers,
        "tls_versions": list(pool.tls_versions or []),
        "alpn_protocols": list(pool.alpn_protocols or []),
    })
    return out


def member_view(m: models.Member) -> dict[str, Any]:
    out = _common(m)
    out.update({
        "address": m.address, "protocol_port": m.protocol_port, "weight": m.weight,
        "backup": m.backup, "subnet_id": m.subnet_id, "monitor_address": m.monitor_address,
        "monitor_port": m.monitor_port, "vnic_type": m.vnic_type,
    })
    return out


def healthmonitor_view(hm: models.HealthMonitor) -> dict[str, Any]:
    out = _common(hm)
    out.update({
        "type": hm.type, "delay": hm.delay, "timeout": hm.timeout,
        "max_retries": hm.max_retries, "max_retries_down": hm.max_retries_down,
        "http_method": hm.http_method, "url_path": hm.url_path,
        "expected_codes": hm.expected_codes, "http_version": hm.http_version,
        "domain_name": hm.domain_name, "pools": [{"id": hm.pool_id}],
    })
    return out


def l7policy_view(p: models.L7Policy) -> dict[str, Any]:
    out = _common(p)
    out.update({
        "description": p.description, "listener_id": p.listener_id, "action": p.action,
        "position": p.position, "redirect_pool_id": p.redirect_pool_id,
        "redirect_url": p.redirect_url, "redirect_prefix": p.redirect_prefix,
        "redirect_http_code": p.redirect_http_code, "rules": [{"id": r.id} for r in p.rules],
    })
    return out


def l7rule_view(r: models.L7Rule) -> dict[str, Any]:
    out = _common(r)
    del out["name"]
    out.update({"type": r.type, "compare_type": r.compare_type, "key": r.key,
                "value": r.value, "invert": r.invert})
    return out


def _status(obj: Any, **extra: Any) -> dict[str, Any]:
    out = {"id": obj.id, "provisioning_status": obj.provisioning_status,
           "operating_status": obj.operating_status}
    if hasattr(obj, "name"):
        out["name"] = obj.name
    out.update(extra)
    return out


def status_tree(lb: models.LoadBalancer) -> dict[str, Any]:
    """The ``/status`` document: the whole tree with both statuses of every object."""
    pools_by_id = {p.id: p for p in lb.pools}

    def pool_status(pool: models.Pool) -> dict[str, Any]:
        extra: dict[str, Any] = {"members": [
            _status(m, address=m.address, protocol_port=m.protocol_port) for m in pool.members]}
        if pool.healthmonitor:
            extra["healthmonitor"] = _status(pool.healthmonitor, type=pool.healthmonitor.type)
        return _status(pool, **extra)

    listeners = []
    for li in lb.listeners:
        used = [li.default_pool_id] if li.default_pool_id else []
        used += [p.redirect_pool_id for p in li.l7policies if p.redirect_pool_id]
        pools = [pool_status(pools_by_id[i]) for i in dict.fromkeys(used) if i in pools_by_id]
        policies = [_status(p, action=p.action, rules=[_status(r, type=r.type) for r in p.rules])
                    for p in li.l7policies]
        listeners.append(_status(li, pools=pools, l7policies=policies))
    return {"statuses": {"loadbalancer": _status(lb, listeners=listeners,
                                                 pools=[pool_status(p) for p in lb.pools])}}
