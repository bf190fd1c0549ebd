"""Member operations, including the batch update of a pool's members."""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from lbaas.core.errors import NotFound
from lbaas.core.status import Provisioning
from lbaas.db import models
from lbaas.schemas.member import MemberCreate, MemberUpdate
from lbaas.services import builders, networks, quotas, views
from lbaas.services.changes import begin_change, begin_create, find
from lbaas.services.work import Work

UPDATABLE = ("name", "admin_state_up", "weight", "backup", "monitor_address", "monitor_port",
             "tags")


def _check_subnet(work: Work, data: MemberCreate) -> None:
    if data.subnet_id is not None:
        networks.find_subnet(work.session, data.subnet_id)


def create(work: Work, conf: cfg.ConfigOpts, pool_id: str, data: MemberCreate
           ) -> dict[str, Any]:
    pool: models.Pool = find(work, models.Pool, pool_id)
    _check_subnet(work, data)
    quotas.check(work.session, conf, pool.project_id, {models.Member: 1})
    lb = begin_create(work, pool.load_balancer_id, models.Member, data)
    member = builders.new_member(pool, data)
    work.session.flush()
    work.notify(lb, "create", member)
    return views.member_view(member)


def find_in_pool(work: Work, pool_id: str, member_id: str) -> models.Member:
    pool: models.Pool = find(work, models.Pool, pool_id)
    member = next((m for m in pool.members if m.id == member_id), None)
    if member is None:
        raise NotFound("Member", member_id)
    return member


def update(work: Work, pool_id: str, member_id: str, data: MemberUpdate) -> dict[str, Any]:
    member = find_in_pool(work, pool_id, member_id)
    begin_change(work, member, "update", data)
    builders.set_fields(member, data.model_dump(exclude_unset=True))
    return views.member_view(member)


def delete(work: Work, pool_id: str, member_id: str) -> None:
    member = find_in_pool(work, pool_id, member_id)
    begin_change(work, member, "delete")


def batch_update(work: Work, conf: cfg.ConfigOpts, pool_id: str, wanted: list[MemberCreate],
                 additive_only: bool) -> None:
    """Make the pool's members match ``wanted`` (by address and port) in one change."""
    pool: models.Pool = find(work, models.Pool, pool_id)
    for data in wanted:
        _check_subnet(work, data)
    existing = {(m.address, m.protocol_port): m for m in pool.members}
    seen: set[tuple[str, int]] = set()
    new: list[MemberCreate] = []
    for data in wanted:
        key = (data.address, data.protocol_port)
        if key in seen:
            builders.raise_duplicate_member(pool.id, data.address, data.protocol_port)
        seen.add(key)
        if key not in existing:
            new.append(data)
    quotas.check(work.session, conf, pool.project_id, {models.Member: len(new)})
    lb = begin_create(work, pool.load_balancer_id, models.Member, *wanted)
    for data in wanted:
        member = existing.get((data.address, data.protocol_port))
        if member is None:
            continue
        values = {k: v for k, v in data.model_dump(exclude_unset=True).items() if k in UPDATABLE}
        builders.set_fields(member, values)
        member.provisioning_status = Provisioning.PENDING_UPDATE
    for data in new:
        builders.new_member(pool, data)
    if not additive_only:
        for key, member in existing.items():
            if key not in seen:
                member.provisioning_status = Provisioning.PENDING_DELETE
    pool.provisioning_status = Provisioning.PENDING_UPDATE
    work.notify(lb, "update", pool)
