"""``lbaas l7rule create|list|show|set|delete L7POLICY …``: the conditions of an L7 policy."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli.client import ApiClient
from lbaas.cli.commands.generic import add_delete, add_show, lister
from lbaas.cli.kinds import L7POLICY, L7RULE
from lbaas.cli.params import Enable, L7PolicyArg, L7RuleArg, NoTag, Tags, compact, given
from lbaas.cli.resolve import find
from lbaas.cli.session import Call, command
from lbaas.core.enums import CompareType, L7RuleType

app = typer.Typer(help="L7 rules (conditions of an L7 policy); the policy comes first.",
                  no_args_is_help=True)

Key = Annotated[str | None, typer.Option(
    "--key", help="Header or cookie name (HEADER, COOKIE), or DN field (SSL_DN_FIELD).")]
Invert = Annotated[bool | None, typer.Option(
    "--invert/--no-invert", show_default=False, help="Match when the comparison fails.")]

# Options of create and set that map straight to L7 rule attributes.
ATTRIBUTES = {"rule_type": "type", "compare_type": "compare_type", "key": "key",
              "value": "value", "invert": "invert", "enable": "admin_state_up"}


@command(app, "create", wait=True)
def create(call: Call, l7policy: L7PolicyArg,
           rule_type: Annotated[L7RuleType, typer.Option(
               "--type", case_sensitive=False, help="What part of the request to look at.")],
           compare_type: Annotated[CompareType, typer.Option(
               "--compare-type", case_sensitive=False, help="How to compare.")],
           value: Annotated[str, typer.Option("--value", help="Value to compare with.")],
           key: Key = None, invert: Invert = None, enable: Enable = None,
           tag: Tags = None) -> None:
    """Add a rule to an L7 policy."""
    options: dict[str, Any] = locals()
    policy = find(call.api, L7POLICY, l7policy)
    call.create(L7RULE, given(options, ATTRIBUTES) | compact(tags=tag), policy)


@lister(app, L7RULE)
def list_(api: ApiClient,
          rule_type: Annotated[L7RuleType | None, typer.Option(
              "--type", case_sensitive=False, help="Only this type.")] = None,
          compare_type: Annotated[CompareType | None, typer.Option(
              "--compare-type", case_sensitive=False, help="Only this comparison.")] = None,
          ) -> dict[str, Any]:
    """List the rules of an L7 policy."""
    return {"type": rule_type, "compare_type": compare_type}


add_show(app, L7RULE, "Show a rule of an L7 policy.")


@command(app, "set", wait=True)
def set_(call: Call, l7policy: L7PolicyArg, l7rule: L7RuleArg,
         rule_type: Annotated[L7RuleType | None, typer.Option(
             "--type", case_sensitive=False, help="What part of the request to look at.")]
         = None,
         compare_type: Annotated[CompareType | None, typer.Option(
             "--compare-type", case_sensitive=False, help="How to compare.")] = None,
         value: Annotated[str | None, typer.Option("--value", help="Value to compare with.")]
         = None,
         key: Key = None, invert: Invert = None, enable: Enable = None, tag: Tags = None,
         no_tag: NoTag = False) -> None:
    """Update a rule of an L7 policy."""
    options: dict[str, Any] = locals()
    current, policy = call.locate(L7RULE, l7policy, l7rule)
    call.update(L7RULE, current, given(options, ATTRIBUTES), tag, no_tag, policy)


add_delete(app, L7RULE, "Delete a rule of an L7 policy.")
