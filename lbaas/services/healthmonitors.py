"""Health monitor operations (one monitor per pool)."""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from lbaas.core.errors import Conflict, InvalidInput
from lbaas.db import models
from lbaas.schemas.healthmonitor import (
    HealthMonitorCreate,
    HealthMonitorUpdate,
    check_type_rules,
)
from lbaas.services import builders, quotas, views
from lbaas.services.changes import begin_change, begin_create, find
from lbaas.services.work import Work


def create(work: Work, conf: cfg.ConfigOpts, data: HealthMonitorCreate) -> dict[str, Any]:
    pool: models.Pool = find(work, models.Pool, data.pool_id)
    if pool.healthmonitor is not None:
        raise Conflict(f"Pool {pool.id} already has health monitor {pool.healthmonitor.id}.")
    quotas.check(work.session, conf, pool.project_id, {models.HealthMonitor: 1})
    lb = begin_create(work, pool.load_balancer_id, models.HealthMonitor, data)
    hm = builders.new_healthmonitor(pool, data)
    work.session.flush()
    work.notify(lb, "create", hm)
    return views.healthmonitor_view(hm)


def update(work: Work, hm_id: str, data: HealthMonitorUpdate) -> dict[str, Any]:
    hm: models.HealthMonitor = find(work, models.HealthMonitor, hm_id)
    values = data.model_dump(exclude_unset=True)
    for key in ("delay", "timeout", "max_retries", "max_retries_down"):
        if key in values and values[key] is None:
            raise InvalidInput(f"{key} cannot be set to null.")
    merged = {k: getattr(hm, k) for k in ("delay", "timeout", "http_method", "url_path",
                                          "expected_codes", "http_version", "domain_name")}
    merged.update(values)
    try:
        check_type_rules(hm.type, merged)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    begin_change(work, hm, "update", data)
    builders.set_fields(hm, values)
    return views.healthmonitor_view(hm)


def delete(work: Work, hm_id: str) -> None:
    hm: models.HealthMonitor = find(work, models.HealthMonitor, hm_id)
    begin_change(work, hm, "delete")
