"""/v2/lbaas/l7policies and /l7policies/{id}/rules: CRUD."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import ContextDep, ServicesDep
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, list_page, no_content, ok
from lbaas.core.errors import NotFound
from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.schemas.l7 import (
    L7PolicyCreateEnvelope,
    L7PolicyEnvelope,
    L7PolicyList,
    L7PolicyPublic,
    L7PolicyUpdateEnvelope,
    L7RuleCreateEnvelope,
    L7RuleEnvelope,
    L7RuleList,
    L7RulePublic,
    L7RuleUpdateEnvelope,
)
from lbaas.services import l7, views
from lbaas.services.state import get_scoped
from lbaas.services.work import unit_of_work

router = APIRouter(tags=["l7policies"])
POLICY_FIELDS = set(L7PolicyPublic.model_fields)
RULE_FIELDS = set(L7RulePublic.model_fields)


@router.get("/l7policies", response_model=L7PolicyList, openapi_extra=LIST_QUERY)
def list_l7policies(request: Request, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "l7policy", "get_all")
    return list_page(request, services, ctx, models.L7Policy, "l7policies",
                     views.l7policy_view, POLICY_FIELDS)


@router.post("/l7policies", status_code=201, response_model=L7PolicyEnvelope)
def create_l7policy(body: L7PolicyCreateEnvelope, services: ServicesDep,
                    ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "l7policy", "post")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        out = l7.create_policy(work, services.conf, body.l7policy)
    return ok({"l7policy": out}, 201)


@router.get("/l7policies/{policy_id}", response_model=L7PolicyEnvelope)
def show_l7policy(policy_id: str, services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "l7policy", "get_one")
    with read_session(services.sessions) as session:
        obj = get_scoped(session, models.L7Policy, policy_id, ctx.scope_project(), "L7 Policy")
        return ok({"l7policy": views.l7policy_view(obj)})


@router.put("/l7policies/{policy_id}", status_code=202, response_model=L7PolicyEnvelope)
def update_l7policy(policy_id: str, body: L7PolicyUpdateEnvelope, services: ServicesDep,
                    ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "l7policy", "put")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        out = l7.update_policy(work, policy_id, body.l7policy)
    return ok({"l7policy": out}, 202)


@router.delete("/l7policies/{policy_id}", status_code=204)
def delete_l7policy(policy_id: str, services: ServicesDep, ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "l7policy", "delete")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        l7.delete_policy(work, policy_id)
    return no_content()


@router.get("/l7policies/{policy_id}/rules", response_model=L7RuleList, openapi_extra=LIST_QUERY)
def list_l7rules(policy_id: str, request: Request, services: ServicesDep,
                 ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "l7rule", "get_all")
    with read_session(services.sessions) as session:
        get_scoped(session, models.L7Policy, policy_id, ctx.scope_project(), "L7 Policy")
    return list_page(request, services, ctx, models.L7Rule, "rules", views.l7rule_view,
                     RULE_FIELDS, where=[models.L7Rule.l7policy_id == policy_id])


@router.post("/l7policies/{policy_id}/rules", status_code=201, response_model=L7RuleEnvelope)
def create_l7rule(policy_id: str, body: L7RuleCreateEnvelope, services: ServicesDep,
                  ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "l7rule", "post")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        out = l7.create_rule(work, services.conf, policy_id, body.rule)
    return ok({"rule": out}, 201)


@router.get("/l7policies/{policy_id}/rules/{rule_id}", response_model=L7RuleEnvelope)
def show_l7rule(policy_id: str, rule_id: str, services: ServicesDep,
                ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "l7rule", "get_one")
    with read_session(services.sessions) as session:
        rule = get_scoped(session, models.L7Rule, rule_id, ctx.scope_project(), "L7 Rule")
        if rule.l7policy_id != policy_id:
            raise NotFound("L7 Rule", rule_id)
        return ok({"rule": views.l7rule_view(rule)})


@router.put("/l7policies/{policy_id}/rules/{rule_id}", status_code=202,
            response_model=L7RuleEnvelope)
def update_l7rule(policy_id: str, rule_id: str, body: L7RuleUpdateEnvelope,
                  services: ServicesDep, ctx: ContextDep) -> JSONBody:
    services.policy.authorize(ctx, "l7rule", "put")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        out = l7.update_rule(work, policy_id, rule_id, body.rule)
    return ok({"rule": out}, 202)


@router.delete("/l7policies/{policy_id}/rules/{rule_id}", status_code=204)
def delete_l7rule(policy_id: str, rule_id: str, services: ServicesDep,
                  ctx: ContextDep) -> Response:
    services.policy.authorize(ctx, "l7rule", "delete")
    with unit_of_work(services.sessions, services.providers, ctx) as work:
        l7.delete_rule(work, policy_id, rule_id)
    return no_content()
