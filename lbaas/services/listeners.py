"""Listener operations."""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from lbaas.core.errors import Conflict, InvalidInput
from lbaas.core.status import Provisioning
from lbaas.db import models
from lbaas.schemas.listener import ListenerCreate, ListenerUpdate
from lbaas.services import builders, quotas, tls, validation, views
from lbaas.services.changes import begin_change, begin_create, find
from lbaas.services.loadbalancers import build_listener_graph
from lbaas.services.work import Work


def _check_default_pool(lb: models.LoadBalancer, listener: models.Listener,
                        pool_id: str | None) -> None:
    if pool_id is None:
        return
    pool = next((p for p in lb.pools if p.id == pool_id), None)
    if pool is None:
        raise InvalidInput(f"Pool {pool_id} could not be found on load balancer {lb.id}.")
    validation.check_listener_pool(listener.protocol, pool.protocol, pool.id)
    if any(li.default_pool_id == pool_id and li.id != listener.id for li in lb.listeners):
        raise Conflict(f"Pool {pool_id} is already the default pool of another listener.")


def create(work: Work, conf: cfg.ConfigOpts, data: ListenerCreate) -> dict[str, Any]:
    lb = find(work, models.LoadBalancer, data.loadbalancer_id)
    quotas.check(work.session, conf, lb.project_id, {models.Listener: 1})
    lb = begin_create(work, lb.id, models.Listener, data)
    default_pool_id = data.default_pool_id
    graph = data.model_copy(update={"default_pool_id": None})
    listener = build_listener_graph(lb, graph, {})  # type: ignore[arg-type]
    if default_pool_id is not None:
        _check_default_pool(lb, listener, default_pool_id)
        listener.default_pool_id = default_pool_id
    tls.check_listener(work.secrets, work.session, listener, listener.project_id)
    work.session.flush()
    work.notify(lb, "create", listener)
    return views.listener_view(listener)


def update(work: Work, listener_id: str, data: ListenerUpdate) -> dict[str, Any]:
    listener: models.Listener = find(work, models.Listener, listener_id)
    values = data.model_dump(exclude_unset=True)
    merged = {**views.listener_view(listener), **values}
    lb = begin_change(work, listener, "update", data)
    validation.check_listener_fields(listener.protocol, merged, lb.vip_address)
    if "default_pool_id" in values:
        _check_default_pool(lb, listener, values["default_pool_id"])
    builders.set_fields(listener, values)
    tls.check_listener(work.secrets, work.session, listener, listener.project_id, given=values)
    return views.listener_view(listener)


def delete(work: Work, listener_id: str) -> None:
    listener: models.Listener = find(work, models.Listener, listener_id)
    begin_change(work, listener, "delete")
    for policy in listener.l7policies:
        policy.provisioning_status = Provisioning.PENDING_DELETE
        for rule in policy.rules:
            rule.provisioning_status = Provisioning.PENDING_DELETE
