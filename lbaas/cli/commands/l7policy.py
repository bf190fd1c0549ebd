"""``lbaas l7policy create|list|show|set|delete``: content-based routing on HTTP listeners."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli.choices import RedirectCode
from lbaas.cli.client import ApiClient
from lbaas.cli.commands.generic import add_delete, add_show, lister
from lbaas.cli.kinds import L7POLICY, LISTENER, POOL
from lbaas.cli.params import (
    Description,
    Enable,
    L7PolicyArg,
    ListenerArg,
    Name,
    NoTag,
    Tags,
    compact,
    given,
)
from lbaas.cli.resolve import find, find_id
from lbaas.cli.session import Call, command
from lbaas.core.enums import L7Action

app = typer.Typer(help="L7 policies (what to do with requests matching their rules).",
                  no_args_is_help=True)

RedirectPool = Annotated[str | None, typer.Option(
    "--redirect-pool", help="Pool (name or ID) for REDIRECT_TO_POOL.")]
RedirectUrl = Annotated[str | None, typer.Option(
    "--redirect-url", help="URL for REDIRECT_TO_URL.")]
RedirectPrefix = Annotated[str | None, typer.Option(
    "--redirect-prefix", help="URL prefix for REDIRECT_PREFIX.")]
RedirectHttpCode = Annotated[RedirectCode | None, typer.Option(
    "--redirect-http-code", help="HTTP status of the redirect (default 302).")]
Position = Annotated[int | None, typer.Option(
    "--position", min=1, help="Order among the listener's policies (1 = first).")]

# Options of create and set that map straight to L7 policy attributes.
ATTRIBUTES = {name: name for name in (
    "name", "description", "redirect_url", "redirect_prefix", "position")} | {
    "enable": "admin_state_up"}


def _attributes(api: ApiClient, options: dict[str, Any]) -> dict[str, Any]:
    """The attributes create and set send, from their parameters, with names resolved to ids."""
    code = options["redirect_http_code"]
    return given(options, ATTRIBUTES) | compact(
        redirect_pool_id=find_id(api, POOL, options["redirect_pool"]),
        redirect_http_code=None if code is None else int(code))


@command(app, "create", wait=True)
def create(call: Call, listener: ListenerArg,
           action: Annotated[L7Action, typer.Option(
               "--action", case_sensitive=False, help="What to do with matching requests.")],
           name: Name = None, description: Description = None,
           redirect_pool: RedirectPool = None, redirect_url: RedirectUrl = None,
           redirect_prefix: RedirectPrefix = None, redirect_http_code: RedirectHttpCode = None,
           position: Position = None, enable: Enable = None, tag: Tags = None) -> None:
    """Create an L7 policy on a listener."""
    options: dict[str, Any] = locals()
    parent = find(call.api, LISTENER, listener)
    body = {"listener_id": parent["id"], "action": action, **_attributes(call.api, options),
            **compact(tags=tag)}
    call.create(L7POLICY, body, parent)


@lister(app, L7POLICY)
def list_(api: ApiClient,
          listener: Annotated[str | None, typer.Option(
              "--listener", help="Only policies of this listener (name or ID).")] = None,
          name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          action: Annotated[L7Action | None, typer.Option(
              "--action", case_sensitive=False, help="Only this action.")] = None,
          project: Annotated[str | None, typer.Option("--project", help="Only this project.")]
          = None) -> dict[str, Any]:
    """List L7 policies."""
    return {"name": name, "action": action, "listener_id": find_id(api, LISTENER, listener),
            "project_id": project}


add_show(app, L7POLICY, "Show an L7 policy.")


@command(app, "set", wait=True)
def set_(call: Call, l7policy: L7PolicyArg, name: Name = None, description: Description = None,
         action: Annotated[L7Action | None, typer.Option(
             "--action", case_sensitive=False, help="What to do with matching requests.")]
         = None,
         redirect_pool: RedirectPool = None, redirect_url: RedirectUrl = None,
         redirect_prefix: RedirectPrefix = None, redirect_http_code: RedirectHttpCode = None,
         position: Position = None, enable: Enable = None, tag: Tags = None,
         no_tag: NoTag = False) -> None:
    """Update an L7 policy."""
    options: dict[str, Any] = locals()
    current = find(call.api, L7POLICY, l7policy)
    call.update(L7POLICY, current, _attributes(call.api, options) | compact(action=action), tag,
                no_tag)


add_delete(app, L7POLICY, "Delete an L7 policy with its rules.")
