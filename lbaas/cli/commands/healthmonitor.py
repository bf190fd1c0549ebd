"""``lbaas healthmonitor create|list|show|set|delete``: one health monitor per pool."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli import render
from lbaas.cli.choices import HttpMethod, HttpVersion, MonitorType
from lbaas.cli.client import DEFAULT_ENDPOINT
from lbaas.cli.kinds import HEALTHMONITOR, POOL
from lbaas.cli.params import (
    Columns,
    Enable,
    Endpoint,
    Format,
    Name,
    NoTag,
    NotTags,
    NotTagsAny,
    PoolArg,
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
from lbaas.cli.resolve import find, loadbalancer_of_healthmonitor, loadbalancer_of_pool
from lbaas.cli.session import connect, settle, settled
from lbaas.cli.wait import DEFAULT_WAIT_TIMEOUT

app = typer.Typer(help="Health monitors (checks that take failing members out of a pool).",
                  no_args_is_help=True)
HTTP = "HTTP checks"

MonitorArg = Annotated[str, typer.Argument(help="Health monitor (name or ID).")]
Delay = Annotated[int, typer.Option("--delay", min=0, help="Seconds between checks.")]
Timeout = Annotated[int, typer.Option("--timeout", min=0, help="Seconds a check may take.")]
MaxRetries = Annotated[int, typer.Option(
    "--max-retries", min=1, max=10, help="Successful checks before a member is up.")]
MaxRetriesDown = Annotated[int | None, typer.Option(
    "--max-retries-down", min=1, max=10, help="Failed checks before a member is down.")]
Method = Annotated[HttpMethod | None, typer.Option(
    "--http-method", case_sensitive=False, rich_help_panel=HTTP, help="HTTP method.")]
UrlPath = Annotated[str | None, typer.Option(
    "--url-path", rich_help_panel=HTTP, help="Path to request, e.g. /health.")]
ExpectedCodes = Annotated[str | None, typer.Option(
    "--expected-codes", rich_help_panel=HTTP, help="Healthy status codes: 200, 200,202 or "
    "200-204.")]
Version = Annotated[HttpVersion | None, typer.Option(
    "--http-version", rich_help_panel=HTTP, help="HTTP version of the check.")]
DomainName = Annotated[str | None, typer.Option(
    "--domain-name", rich_help_panel=HTTP, help="Host header of the check (needs HTTP/1.1).")]

# Options of create and set that map straight to health monitor attributes.
ATTRIBUTES = {name: name for name in (
    "name", "delay", "timeout", "max_retries", "max_retries_down", "http_method", "url_path",
    "expected_codes", "domain_name")} | {"enable": "admin_state_up"}


def _attributes(options: dict[str, Any]) -> dict[str, Any]:
    """The attributes create and set send, from their parameters."""
    version = options["http_version"]
    return given(options, ATTRIBUTES) | compact(
        http_version=None if version is None else float(version))


@app.command("create")
def create(pool: PoolArg, delay: Delay, timeout: Timeout, max_retries: MaxRetries,
           monitor_type: Annotated[MonitorType, typer.Option(
               "--type", case_sensitive=False, help="Kind of check.")],
           name: Name = None, max_retries_down: MaxRetriesDown = None,
           http_method: Method = None, url_path: UrlPath = None,
           expected_codes: ExpectedCodes = None, http_version: Version = None,
           domain_name: DomainName = None, enable: Enable = None, tag: Tags = None,
           endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None, fmt: Format = "table",
           column: Columns = None, wait: Wait = False,
           wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Create the health monitor of a pool."""
    options: dict[str, Any] = locals()
    with connect(endpoint, token) as api:
        parent = find(api, POOL, pool)
        body = {"pool_id": parent["id"], "type": monitor_type, **_attributes(options),
                **compact(tags=tag)}
        monitor = api.post(HEALTHMONITOR.path(), {"healthmonitor": body})["healthmonitor"]
        monitor = settled(api, HEALTHMONITOR, monitor, loadbalancer_of_pool(parent), wait,
                          wait_timeout)
        render.show(monitor, fmt, column)


@app.command("list")
def list_(name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          monitor_type: Annotated[MonitorType | None, typer.Option(
              "--type", case_sensitive=False, help="Only this kind of check.")] = None,
          project: Annotated[str | None, typer.Option("--project", help="Only this project.")]
          = None,
          tags: TagsAll = None, any_tags: TagsAny = None, not_tags: NotTags = None,
          not_any_tags: NotTagsAny = None, endpoint: Endpoint = DEFAULT_ENDPOINT,
          token: Token = None, fmt: Format = "table", column: Columns = None) -> None:
    """List health monitors."""
    query = list_query(tags, any_tags, not_tags, not_any_tags, name=name, type=monitor_type,
                       project_id=project)
    with connect(endpoint, token) as api:
        items = api.list(HEALTHMONITOR.path(), HEALTHMONITOR.plural, query)
        render.show_list(items, HEALTHMONITOR.columns, fmt, column)


@app.command("show")
def show(healthmonitor: MonitorArg, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
         fmt: Format = "table", column: Columns = None) -> None:
    """Show a health monitor."""
    with connect(endpoint, token) as api:
        render.show(find(api, HEALTHMONITOR, healthmonitor), fmt, column)


@app.command("set")
def set_(healthmonitor: MonitorArg, name: Name = None,
         delay: Annotated[int | None, typer.Option(
             "--delay", min=0, help="Seconds between checks.")] = None,
         timeout: Annotated[int | None, typer.Option(
             "--timeout", min=0, help="Seconds a check may take.")] = None,
         max_retries: Annotated[int | None, typer.Option(
             "--max-retries", min=1, max=10, help="Successful checks before a member is up.")]
         = None,
         max_retries_down: MaxRetriesDown = None, http_method: Method = None,
         url_path: UrlPath = None, expected_codes: ExpectedCodes = None,
         http_version: Version = None, domain_name: DomainName = None, enable: Enable = None,
         tag: Tags = None, no_tag: NoTag = False, endpoint: Endpoint = DEFAULT_ENDPOINT,
         token: Token = None, fmt: Format = "table", column: Columns = None,
         wait: Wait = False, wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Update a health monitor."""
    options: dict[str, Any] = locals()
    with connect(endpoint, token) as api:
        current = find(api, HEALTHMONITOR, healthmonitor)
        body = _attributes(options) | compact(tags=tags_after_set(current["tags"], tag, no_tag))
        require_changes(body)
        updated = api.put(HEALTHMONITOR.item_path(current["id"]),
                          {"healthmonitor": body})["healthmonitor"]
        lb_id = loadbalancer_of_healthmonitor(api, current)
        render.show(settled(api, HEALTHMONITOR, updated, lb_id, wait, wait_timeout), fmt, column)


@app.command("delete")
def delete(healthmonitor: MonitorArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
           token: Token = None, wait: Wait = False,
           wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Delete a health monitor."""
    with connect(endpoint, token) as api:
        current = find(api, HEALTHMONITOR, healthmonitor)
        lb_id = loadbalancer_of_healthmonitor(api, current)
        api.delete(HEALTHMONITOR.item_path(current["id"]))
        settle(api, lb_id, wait, wait_timeout)
