"""/v2/lbaas/l7policies and /l7policies/{id}/rules: CRUD."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response

from lbaas.api.deps import Authorized, ServicesDep
from lbaas.api.openapi import LIST_QUERY
from lbaas.api.responses import JSONBody, list_page, no_content, ok
from lbaas.core.context import RequestContext
from lbaas.core.kinds import L7POLICY, L7RULE
from lbaas.db import models
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
from lbaas.services import l7, reads, views

router = APIRouter(tags=["l7policies"])
POLICY_FIELDS = set(L7PolicyPublic.model_fields)
RULE_FIELDS = set(L7RulePublic.model_fields)


@router.get("/l7policies", response_model=L7PolicyList, openapi_extra=LIST_QUERY)
def list_l7policies(
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(L7POLICY, "get_all")],
) -> JSONBody:
    return list_page(
        request, services, ctx, models.L7Policy, "l7policies", views.l7policy_view, POLICY_FIELDS
    )


@router.post("/l7policies", status_code=201, response_model=L7PolicyEnvelope)
def create_l7policy(
    body: L7PolicyCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(L7POLICY, "post")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = l7.create_policy(work, services.conf, body.l7policy)
    return ok({"l7policy": out}, 201)


@router.get("/l7policies/{policy_id}", response_model=L7PolicyEnvelope)
def show_l7policy(
    policy_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(L7POLICY, "get_one")],
) -> JSONBody:
    view = reads.show(services.sessions, models.L7Policy, policy_id, ctx, views.l7policy_view)
    return ok({"l7policy": view})


@router.put("/l7policies/{policy_id}", response_model=L7PolicyEnvelope)
def update_l7policy(
    policy_id: str,
    body: L7PolicyUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(L7POLICY, "put")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = l7.update_policy(work, policy_id, body.l7policy)
    return ok({"l7policy": out})


@router.delete("/l7policies/{policy_id}", status_code=204)
def delete_l7policy(
    policy_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(L7POLICY, "delete")],
) -> Response:
    with services.unit_of_work(ctx) as work:
        l7.delete_policy(work, policy_id)
    return no_content()


@router.get("/l7policies/{policy_id}/rules", response_model=L7RuleList, openapi_extra=LIST_QUERY)
def list_l7rules(
    policy_id: str,
    request: Request,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(L7RULE, "get_all")],
) -> JSONBody:
    reads.require_visible(services.sessions, models.L7Policy, policy_id, ctx)
    return list_page(
        request,
        services,
        ctx,
        models.L7Rule,
        "rules",
        views.l7rule_view,
        RULE_FIELDS,
        where=[models.L7Rule.l7policy_id == policy_id],
    )


@router.post("/l7policies/{policy_id}/rules", status_code=201, response_model=L7RuleEnvelope)
def create_l7rule(
    policy_id: str,
    body: L7RuleCreateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(L7RULE, "post")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = l7.create_rule(work, services.conf, policy_id, body.rule)
    return ok({"rule": out}, 201)


@router.get("/l7policies/{policy_id}/rules/{rule_id}", response_model=L7RuleEnvelope)
def show_l7rule(
    policy_id: str,
    rule_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(L7RULE, "get_one")],
) -> JSONBody:
    rule = reads.show(
        services.sessions,
        models.L7Rule,
        rule_id,
        ctx,
        views.l7rule_view,
        (models.L7Policy, policy_id),
    )
    return ok({"rule": rule})


@router.put("/l7policies/{policy_id}/rules/{rule_id}", response_model=L7RuleEnvelope)
def update_l7rule(
    policy_id: str,
    rule_id: str,
    body: L7RuleUpdateEnvelope,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(L7RULE, "put")],
) -> JSONBody:
    with services.unit_of_work(ctx) as work:
        out = l7.update_rule(work, policy_id, rule_id, body.rule)
    return ok({"rule": out})


@router.delete("/l7policies/{policy_id}/rules/{rule_id}", status_code=204)
def delete_l7rule(
    policy_id: str,
    rule_id: str,
    services: ServicesDep,
    ctx: Annotated[RequestContext, Authorized(L7RULE, "delete")],
) -> Response:
    with services.unit_of_work(ctx) as work:
        l7.delete_rule(work, policy_id, rule_id)
    return no_content()
