"""Pool operations."""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from lbaas.core.errors import Conflict
from lbaas.core.status import Provisioning
from lbaas.db import models
from lbaas.schemas.pool import PoolCreate, PoolUpdate
from lbaas.services import builders, quotas, tls, validation, views
from lbaas.services.changes import begin_change, begin_create, find
from lbaas.services.work import Work


def create(work: Work, conf: cfg.ConfigOpts, data: PoolCreate) -> dict[str, Any]:
    listener: models.Listener | None = None
    if data.listener_id is not None:
        listener = find(work, models.Listener, data.listener_id)
        lb_id = listener.load_balancer_id
        if data.loadbalancer_id and data.loadbalancer_id != lb_id:
            raise Conflict(f"Listener {listener.id} is not on load balancer "
                           f"{data.loadbalancer_id}.")
    else:
        lb_id = find(work, models.LoadBalancer, str(data.loadbalancer_id)).id
    lb = find(work, models.LoadBalancer, lb_id)
    quotas.check(work.session, conf, lb.project_id, {models.Pool: 1})
    lb = begin_create(work, lb.id, models.Pool, data)
    if listener is not None:
        validation.check_listener_pool(listener.protocol, data.protocol)
        if listener.default_pool_id is not None:
            raise Conflict(f"Listener {listener.id} already has default pool "
                           f"{listener.default_pool_id}.")
    pool = builders.new_pool(lb, data)
    tls.check_pool(work.secrets, work.session, pool, pool.project_id)
    work.session.flush()
    if listener is not None:
        listener.default_pool_id = pool.id
        listener.provisioning_status = Provisioning.PENDING_UPDATE
    work.session.flush()
    work.session.refresh(pool, ["default_of_listeners"])
    work.notify(lb, "create", pool)
    return views.pool_view(pool)


def update(work: Work, pool_id: str, data: PoolUpdate) -> dict[str, Any]:
    pool: models.Pool = find(work, models.Pool, pool_id)
    values = data.model_dump(exclude_unset=True)
    begin_change(work, pool, "update", data)
    if "session_persistence" in values:
        validation.check_pool_fields(pool.protocol, values["session_persistence"])
    if values.keys() & {"lb_algorithm", "drain_timeout", "slow_start"}:
        validation.check_pool_ramps(values.get("lb_algorithm", pool.lb_algorithm),
                                    values.get("drain_timeout", pool.drain_timeout),
                                    values.get("slow_start", pool.slow_start))
    builders.set_fields(pool, values)
    tls.check_pool(work.secrets, work.session, pool, pool.project_id, given=values)
    return views.pool_view(pool)


def delete(work: Work, pool_id: str) -> None:
    pool: models.Pool = find(work, models.Pool, pool_id)
    if pool.redirecting_policies:
        ids = ", ".join(p.id for p in pool.redirecting_policies)
        raise Conflict(f"Pool {pool_id} is in use by L7 policy {ids}; delete or change the "
                       "policy first.")
    begin_change(work, pool, "delete")
    for member in pool.members:
        member.provisioning_status = Provisioning.PENDING_DELETE
    if pool.healthmonitor is not None:
        pool.healthmonitor.provisioning_status = Provisioning.PENDING_DELETE
