"""L7 policy and L7 rule operations."""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from lbaas.core.errors import InvalidInput, NotFound
from lbaas.core.status import Provisioning
from lbaas.db import models
from lbaas.schemas.l7 import (
    L7PolicyCreate,
    L7PolicyUpdate,
    L7RuleCreate,
    L7RuleUpdate,
    check_action_rules,
    check_rule,
)
from lbaas.services import builders, quotas, validation, views
from lbaas.services.changes import begin_change, begin_create, find
from lbaas.services.work import Work


def _redirect_pool(work: Work, lb_id: str, listener: models.Listener, pool_id: str | None
                   ) -> models.Pool | None:
    if pool_id is None:
        return None
    pool = work.session.get(models.Pool, pool_id)
    if pool is None or pool.load_balancer_id != lb_id:
        raise InvalidInput(f"Pool {pool_id} could not be found on the listener's load balancer.")
    validation.check_listener_pool(listener.protocol, pool.protocol, pool.id)
    return pool


def create_policy(work: Work, conf: cfg.ConfigOpts, data: L7PolicyCreate) -> dict[str, Any]:
    listener: models.Listener = find(work, models.Listener, data.listener_id)
    validation.check_l7_listener(listener.protocol)
    quotas.check(work.session, conf, listener.project_id,
                 {models.L7Policy: 1, models.L7Rule: len(data.rules)})
    lb = begin_create(work, listener.load_balancer_id, models.L7Policy, data)
    pool = _redirect_pool(work, lb.id, listener, data.redirect_pool_id)
    policy = builders.new_l7policy(listener, data, pool)
    work.session.flush()
    work.notify(lb, "create", policy)
    return views.l7policy_view(policy)


def update_policy(work: Work, policy_id: str, data: L7PolicyUpdate) -> dict[str, Any]:
    policy: models.L7Policy = find(work, models.L7Policy, policy_id)
    values = data.model_dump(exclude_unset=True)
    merged = {k: getattr(policy, k) for k in ("action", "redirect_pool_id", "redirect_url",
                                              "redirect_prefix", "redirect_http_code")}
    if "action" in values and values["action"] != policy.action:
        # A new action clears the redirect fields that belonged to the old one.
        merged.update({"redirect_pool_id": None, "redirect_url": None, "redirect_prefix": None,
                       "redirect_http_code": None})
        values.update({k: values.get(k) for k in ("redirect_pool_id", "redirect_url",
                                                  "redirect_prefix", "redirect_http_code")})
    merged.update({k: v for k, v in values.items() if k in merged})
    if merged["action"] in ("REDIRECT_TO_URL", "REDIRECT_PREFIX") and \
            merged["redirect_http_code"] is None:
        merged["redirect_http_code"] = values["redirect_http_code"] = 302
    if values.get("action") is None:
        values.pop("action", None)
    try:
        check_action_rules(merged)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    lb = begin_change(work, policy, "update", data)
    if values.get("redirect_pool_id"):
        _redirect_pool(work, lb.id, policy.listener, values["redirect_pool_id"])
    position = values.pop("position", None)
    builders.set_fields(policy, values)
    if position is not None:
        builders.insert_policy(policy.listener, policy, position)
    return views.l7policy_view(policy)


def delete_policy(work: Work, policy_id: str) -> None:
    policy: models.L7Policy = find(work, models.L7Policy, policy_id)
    begin_change(work, policy, "delete")
    for rule in policy.rules:
        rule.provisioning_status = Provisioning.PENDING_DELETE


def find_rule(work: Work, policy_id: str, rule_id: str) -> models.L7Rule:
    policy: models.L7Policy = find(work, models.L7Policy, policy_id)
    rule = next((r for r in policy.rules if r.id == rule_id), None)
    if rule is None:
        raise NotFound("L7 Rule", rule_id)
    return rule


def create_rule(work: Work, conf: cfg.ConfigOpts, policy_id: str, data: L7RuleCreate
                ) -> dict[str, Any]:
    policy: models.L7Policy = find(work, models.L7Policy, policy_id)
    quotas.check(work.session, conf, policy.project_id, {models.L7Rule: 1})
    lb = begin_create(work, policy.listener.load_balancer_id, models.L7Rule, data)
    rule = builders.new_l7rule(policy, data)
    work.session.flush()
    work.notify(lb, "create", rule)
    return views.l7rule_view(rule)


def update_rule(work: Work, policy_id: str, rule_id: str, data: L7RuleUpdate) -> dict[str, Any]:
    rule = find_rule(work, policy_id, rule_id)
    values = data.model_dump(exclude_unset=True)
    for key in ("type", "compare_type", "value"):
        if key in values and values[key] is None:
            raise InvalidInput(f"{key} cannot be set to null.")
    merged = {k: getattr(rule, k) for k in ("type", "compare_type", "key", "value")}
    merged.update({k: v for k, v in values.items() if k in merged})
    try:
        check_rule(merged["type"], merged["compare_type"], merged["key"], merged["value"])
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    begin_change(work, rule, "update", data)
    builders.set_fields(rule, values)
    return views.l7rule_view(rule)


def delete_rule(work: Work, policy_id: str, rule_id: str) -> None:
    rule = find_rule(work, policy_id, rule_id)
    begin_change(work, rule, "delete")
