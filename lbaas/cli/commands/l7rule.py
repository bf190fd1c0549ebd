"""``lbaas l7rule create|list|show|set|delete L7POLICY …``: the conditions of an L7 policy."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli import render
from lbaas.cli.choices import CompareType, L7RuleType
from lbaas.cli.client import DEFAULT_ENDPOINT
from lbaas.cli.kinds import L7POLICY, L7RULE
from lbaas.cli.params import (
    Columns,
    Enable,
    Endpoint,
    Format,
    L7PolicyArg,
    NoTag,
    NotTags,
    NotTagsAny,
    Tags,
    TagsAll,
    TagsAny,
    Token,
    Wait,
    WaitTimeout,
    compact,
    given,
    list_query,
    require_changes,
    tags_after_set,
)
from lbaas.cli.resolve import find, loadbalancer_of_l7policy
from lbaas.cli.session import connect, settle, settled
from lbaas.cli.wait import DEFAULT_WAIT_TIMEOUT

app = typer.Typer(help="L7 rules (conditions of an L7 policy); the policy comes first.",
                  no_args_is_help=True)

RuleArg = Annotated[str, typer.Argument(help="L7 rule ID.")]
Key = Annotated[str | None, typer.Option(
    "--key", help="Header or cookie name (HEADER, COOKIE), or DN field (SSL_DN_FIELD).")]
Invert = Annotated[bool | None, typer.Option(
    "--invert/--no-invert", show_default=False, help="Match when the comparison fails.")]

# Options of create and set that map straight to L7 rule attributes.
ATTRIBUTES = {"rule_type": "type", "compare_type": "compare_type", "key": "key",
              "value": "value", "invert": "invert", "enable": "admin_state_up"}


@app.command("create")
def create(l7policy: L7PolicyArg,
           rule_type: Annotated[L7RuleType, typer.Option(
               "--type", case_sensitive=False, help="What part of the request to look at.")],
           compare_type: Annotated[CompareType, typer.Option(
               "--compare-type", case_sensitive=False, help="How to compare.")],
           value: Annotated[str, typer.Option("--value", help="Value to compare with.")],
           key: Key = None, invert: Invert = None, enable: Enable = None, tag: Tags = None,
           endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None, fmt: Format = "table",
           column: Columns = None, wait: Wait = False,
           wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Add a rule to an L7 policy."""
    options: dict[str, Any] = locals()
    with connect(endpoint, token) as api:
        policy = find(api, L7POLICY, l7policy)
        body = given(options, ATTRIBUTES) | compact(tags=tag)
        rule = api.post(L7RULE.path(policy["id"]), {"rule": body})["rule"]
        rule = settled(api, L7RULE, rule, loadbalancer_of_l7policy(api, policy), wait,
                       wait_timeout, policy["id"])
        render.show(rule, fmt, column)


@app.command("list")
def list_(l7policy: L7PolicyArg,
          rule_type: Annotated[L7RuleType | None, typer.Option(
              "--type", case_sensitive=False, help="Only this type.")] = None,
          compare_type: Annotated[CompareType | None, typer.Option(
              "--compare-type", case_sensitive=False, help="Only this comparison.")] = None,
          tags: TagsAll = None, any_tags: TagsAny = None, not_tags: NotTags = None,
          not_any_tags: NotTagsAny = None, endpoint: Endpoint = DEFAULT_ENDPOINT,
          token: Token = None, fmt: Format = "table", column: Columns = None) -> None:
    """List the rules of an L7 policy."""
    query = list_query(tags, any_tags, not_tags, not_any_tags, type=rule_type,
                       compare_type=compare_type)
    with connect(endpoint, token) as api:
        policy_id = find(api, L7POLICY, l7policy)["id"]
        items = api.list(L7RULE.path(policy_id), L7RULE.plural, query)
        render.show_list(items, L7RULE.columns, fmt, column)


@app.command("show")
def show(l7policy: L7PolicyArg, l7rule: RuleArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
         token: Token = None, fmt: Format = "table", column: Columns = None) -> None:
    """Show a rule of an L7 policy."""
    with connect(endpoint, token) as api:
        policy_id = find(api, L7POLICY, l7policy)["id"]
        render.show(find(api, L7RULE, l7rule, policy_id), fmt, column)


@app.command("set")
def set_(l7policy: L7PolicyArg, l7rule: RuleArg,
         rule_type: Annotated[L7RuleType | None, typer.Option(
             "--type", case_sensitive=False, help="What part of the request to look at.")]
         = None,
         compare_type: Annotated[CompareType | None, typer.Option(
             "--compare-type", case_sensitive=False, help="How to compare.")] = None,
         value: Annotated[str | None, typer.Option("--value", help="Value to compare with.")]
         = None,
         key: Key = None, invert: Invert = None, enable: Enable = None, tag: Tags = None,
         no_tag: NoTag = False, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
         fmt: Format = "table", column: Columns = None, wait: Wait = False,
         wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Update a rule of an L7 policy."""
    options: dict[str, Any] = locals()
    with connect(endpoint, token) as api:
        policy = find(api, L7POLICY, l7policy)
        current = find(api, L7RULE, l7rule, policy["id"])
        body = given(options, ATTRIBUTES) | compact(
            tags=tags_after_set(current["tags"], tag, no_tag))
        require_changes(body)
        updated = api.put(L7RULE.item_path(current["id"], policy["id"]), {"rule": body})["rule"]
        updated = settled(api, L7RULE, updated, loadbalancer_of_l7policy(api, policy), wait,
                          wait_timeout, policy["id"])
        render.show(updated, fmt, column)


@app.command("delete")
def delete(l7policy: L7PolicyArg, l7rule: RuleArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
           token: Token = None, wait: Wait = False,
           wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Delete a rule of an L7 policy."""
    with connect(endpoint, token) as api:
        policy = find(api, L7POLICY, l7policy)
        rule_id = find(api, L7RULE, l7rule, policy["id"])["id"]
        api.delete(L7RULE.item_path(rule_id, policy["id"]))
        settle(api, loadbalancer_of_l7policy(api, policy), wait, wait_timeout)
