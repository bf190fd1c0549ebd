"""``lbaas l7policy create|list|show|set|delete``: content-based routing on HTTP listeners."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli import render
from lbaas.cli.choices import L7Action, RedirectCode
from lbaas.cli.client import DEFAULT_ENDPOINT, ApiClient
from lbaas.cli.kinds import L7POLICY, LISTENER, POOL
from lbaas.cli.params import (
    Columns,
    Description,
    Enable,
    Endpoint,
    Format,
    L7PolicyArg,
    ListenerArg,
    Name,
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
from lbaas.cli.resolve import find, find_id, loadbalancer_of_l7policy, loadbalancer_of_listener
from lbaas.cli.session import connect, settle, settled
from lbaas.cli.wait import DEFAULT_WAIT_TIMEOUT

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


@app.command("create")
def create(listener: ListenerArg,
           action: Annotated[L7Action, typer.Option(
               "--action", case_sensitive=False, help="What to do with matching requests.")],
           name: Name = None, description: Description = None,
           redirect_pool: RedirectPool = None, redirect_url: RedirectUrl = None,
           redirect_prefix: RedirectPrefix = None, redirect_http_code: RedirectHttpCode = None,
           position: Position = None, enable: Enable = None, tag: Tags = None,
           endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None, fmt: Format = "table",
           column: Columns = None, wait: Wait = False,
           wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Create an L7 policy on a listener."""
    options: dict[str, Any] = locals()
    with connect(endpoint, token) as api:
        parent = find(api, LISTENER, listener)
        body = {"listener_id": parent["id"], "action": action, **_attributes(api, options),
                **compact(tags=tag)}
        policy = api.post(L7POLICY.path(), {"l7policy": body})["l7policy"]
        policy = settled(api, L7POLICY, policy, loadbalancer_of_listener(parent), wait,
                         wait_timeout)
        render.show(policy, fmt, column)


@app.command("list")
def list_(listener: Annotated[str | None, typer.Option(
              "--listener", help="Only policies of this listener (name or ID).")] = None,
          name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          action: Annotated[L7Action | None, typer.Option(
              "--action", case_sensitive=False, help="Only this action.")] = None,
          project: Annotated[str | None, typer.Option("--project", help="Only this project.")]
          = None,
          tags: TagsAll = None, any_tags: TagsAny = None, not_tags: NotTags = None,
          not_any_tags: NotTagsAny = None, endpoint: Endpoint = DEFAULT_ENDPOINT,
          token: Token = None, fmt: Format = "table", column: Columns = None) -> None:
    """List L7 policies."""
    with connect(endpoint, token) as api:
        query = list_query(tags, any_tags, not_tags, not_any_tags, name=name, action=action,
                           listener_id=find_id(api, LISTENER, listener), project_id=project)
        items = api.list(L7POLICY.path(), L7POLICY.plural, query)
        render.show_list(items, L7POLICY.columns, fmt, column)


@app.command("show")
def show(l7policy: L7PolicyArg, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
         fmt: Format = "table", column: Columns = None) -> None:
    """Show an L7 policy."""
    with connect(endpoint, token) as api:
        render.show(find(api, L7POLICY, l7policy), fmt, column)


@app.command("set")
def set_(l7policy: L7PolicyArg, name: Name = None, description: Description = None,
         action: Annotated[L7Action | None, typer.Option(
             "--action", case_sensitive=False, help="What to do with matching requests.")]
         = None,
         redirect_pool: RedirectPool = None, redirect_url: RedirectUrl = None,
         redirect_prefix: RedirectPrefix = None, redirect_http_code: RedirectHttpCode = None,
         position: Position = None, enable: Enable = None, tag: Tags = None,
         no_tag: NoTag = False, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
         fmt: Format = "table", column: Columns = None, wait: Wait = False,
         wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Update an L7 policy."""
    options: dict[str, Any] = locals()
    with connect(endpoint, token) as api:
        current = find(api, L7POLICY, l7policy)
        body = _attributes(api, options) | compact(
            action=action, tags=tags_after_set(current["tags"], tag, no_tag))
        require_changes(body)
        updated = api.put(L7POLICY.item_path(current["id"]), {"l7policy": body})["l7policy"]
        lb_id = loadbalancer_of_l7policy(api, current)
        render.show(settled(api, L7POLICY, updated, lb_id, wait, wait_timeout), fmt, column)


@app.command("delete")
def delete(l7policy: L7PolicyArg, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
           wait: Wait = False, wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Delete an L7 policy with its rules."""
    with connect(endpoint, token) as api:
        current = find(api, L7POLICY, l7policy)
        lb_id = loadbalancer_of_l7policy(api, current)
        api.delete(L7POLICY.item_path(current["id"]))
        settle(api, lb_id, wait, wait_timeout)
