"""L7 policy and L7 rule schemas, with the rules between their fields."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from lbaas.core.enums import CompareType, L7Action, L7RuleType, RedirectCode
from lbaas.schemas.common import (
    UUID,
    Description,
    IdRef,
    Link,
    Name,
    OperatingStatus,
    ProjectOwned,
    ProvisioningStatus,
    RequestModel,
    ResponseModel,
    Tags,
)

if TYPE_CHECKING:
    from lbaas.schemas.pool import PoolGraph

# A distinguished-name attribute as Octavia accepts it (CN, OU, O, L, ST, C, EMAIL, ...).
DN_FIELD = re.compile(r"^[a-zA-Z][A-Za-z0-9-]*$")

# Redirect targets: absolute http(s) URLs made of URL characters only.
URL = re.compile(r"^https?://[A-Za-z0-9\-._~!$&'()*+,;=:@%/?\[\]]+$")
# Rule values and keys reach haproxy.cfg: no whitespace, quotes or control characters.
RULE_VALUE = re.compile(r"^[^\s\"'\\\x00-\x1f\x7f]+$")
HEADER_NAME = re.compile(r"^[!#$%&*+\-.^_`|~0-9A-Za-z]+$")


class _L7PolicyFields(RequestModel):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool | None = None
    position: int | None = Field(default=None, ge=1, le=2147483647)
    redirect_pool_id: UUID | None = None
    redirect_url: str | None = Field(default=None, max_length=2048)
    redirect_prefix: str | None = Field(default=None, max_length=2048)
    redirect_http_code: RedirectCode | None = None
    tags: Tags | None = None

    @model_validator(mode="after")
    def _check_urls(self) -> _L7PolicyFields:
        for field in ("redirect_url", "redirect_prefix"):
            value = getattr(self, field)
            if value is not None and not URL.match(value):
                raise ValueError(f"{field} must be an absolute http:// or https:// URL without "
                                 "spaces, quotes or control characters")
        return self


def check_action_rules(values: dict[str, object], has_redirect_pool: bool = False) -> None:
    """Raise ValueError when redirect fields do not fit the action."""
    action = values.get("action")
    needed = {"REDIRECT_TO_POOL": "redirect_pool_id", "REDIRECT_TO_URL": "redirect_url",
              "REDIRECT_PREFIX": "redirect_prefix"}.get(str(action))
    for field in ("redirect_pool_id", "redirect_url", "redirect_prefix"):
        present = values.get(field) is not None or (field == "redirect_pool_id"
                                                      and has_redirect_pool)
        if field == needed and not present:
            raise ValueError(f"action {action} requires {field}")
        if field != needed and present:
            raise ValueError(f"{field} is not allowed with action {action}")
    if values.get("redirect_http_code") is not None and action not in ("REDIRECT_TO_URL",
                                                                       "REDIRECT_PREFIX"):
        raise ValueError(f"redirect_http_code is not allowed with action {action}")


class _L7RuleFields(RequestModel):
    admin_state_up: bool | None = None
    key: str | None = Field(default=None, max_length=255)
    value: str | None = Field(default=None, max_length=255)
    invert: bool | None = None
    tags: Tags | None = None


class L7RuleCreate(_L7RuleFields, ProjectOwned):
    type: L7RuleType
    compare_type: CompareType
    value: str = Field(max_length=255)

    @model_validator(mode="after")
    def _check(self) -> L7RuleCreate:
        check_rule(self.type, self.compare_type, self.key, self.value)
        return self


class L7RuleUpdate(_L7RuleFields):
    type: L7RuleType | None = None
    compare_type: CompareType | None = None


def check_rule(rule_type: str, compare_type: str, key: str | None, value: str) -> None:
    """Raise ValueError when a rule's key/value do not fit its type and comparison."""
    if not value or not RULE_VALUE.match(value):
        raise ValueError("value must be non-empty and contain no whitespace, quotes, "
                         "backslashes or control characters")
    if rule_type in ("HEADER", "COOKIE"):
        if not key or not HEADER_NAME.match(key):
            raise ValueError(f"{rule_type} rules need a key that is a valid "
                             f"{'header' if rule_type == 'HEADER' else 'cookie'} name")
    elif rule_type == "SSL_DN_FIELD":
        if not key or not DN_FIELD.match(key):
            raise ValueError("SSL_DN_FIELD rules need a key naming a distinguished-name field "
                             "such as CN, OU, O, L, ST, C or EMAIL")
    elif key is not None:
        raise ValueError(f"key is not allowed for {rule_type} rules")
    if rule_type == "FILE_TYPE" and compare_type not in ("EQUAL_TO", "REGEX"):
        raise ValueError("FILE_TYPE rules compare with EQUAL_TO or REGEX only")
    if rule_type == "SSL_CONN_HAS_CERT" and (compare_type != "EQUAL_TO" or value != "True"):
        raise ValueError("SSL_CONN_HAS_CERT rules must be EQUAL_TO 'True'")
    if rule_type == "SSL_VERIFY_RESULT" and (compare_type != "EQUAL_TO" or not value.isdigit()):
        raise ValueError("SSL_VERIFY_RESULT rules must be EQUAL_TO a number")
    if compare_type == "REGEX":
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"value is not a valid regular expression: {exc}") from None


class L7PolicyGraph(_L7PolicyFields, ProjectOwned):
    """An L7 policy inside a listener of a single-call create."""

    action: L7Action
    rules: list[L7RuleCreate] = Field(default_factory=list, max_length=50)
    redirect_pool: PoolGraph | None = None

    @model_validator(mode="after")
    def _check_action(self) -> L7PolicyGraph:
        check_action_rules(self.model_dump(exclude={"redirect_pool", "rules"}),
                           has_redirect_pool=self.redirect_pool is not None)
        return self


class L7PolicyCreate(_L7PolicyFields, ProjectOwned):
    listener_id: UUID
    action: L7Action
    rules: list[L7RuleCreate] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _check_action(self) -> L7PolicyCreate:
        check_action_rules(self.model_dump(exclude={"rules"}))
        return self


class L7PolicyUpdate(_L7PolicyFields):
    action: L7Action | None = None


class L7RulePublic(ResponseModel):
    id: str
    type: str
    compare_type: str
    key: str | None
    value: str
    invert: bool
    project_id: str
    tenant_id: str
    provisioning_status: ProvisioningStatus
    operating_status: OperatingStatus
    admin_state_up: bool
    created_at: str
    updated_at: str | None
    tags: list[str]


class L7PolicyPublic(ResponseModel):
    id: str
    name: str
    description: str
    listener_id: str
    action: str
    position: int
    redirect_pool_id: str | None
    redirect_url: str | None
    redirect_prefix: str | None
    redirect_http_code: int | None
    project_id: str
    tenant_id: str
    provisioning_status: ProvisioningStatus
    operating_status: OperatingStatus
    admin_state_up: bool
    rules: list[IdRef]
    created_at: str
    updated_at: str | None
    tags: list[str]


class L7PolicyCreateEnvelope(RequestModel):
    l7policy: L7PolicyCreate


class L7PolicyUpdateEnvelope(RequestModel):
    l7policy: L7PolicyUpdate


class L7PolicyEnvelope(ResponseModel):
    l7policy: L7PolicyPublic


class L7PolicyList(ResponseModel):
    l7policies: list[L7PolicyPublic]
    l7policies_links: list[Link]


class L7RuleCreateEnvelope(RequestModel):
    rule: L7RuleCreate


class L7RuleUpdateEnvelope(RequestModel):
    rule: L7RuleUpdate


class L7RuleEnvelope(ResponseModel):
    rule: L7RulePublic


class L7RuleList(ResponseModel):
    rules: list[L7RulePublic]
    rules_links: list[Link]
