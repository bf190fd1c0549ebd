"""``lbaas healthmonitor create|list|show|set|delete``: one health monitor per pool."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli.choices import HttpVersion
from lbaas.cli.client import ApiClient
from lbaas.cli.commands.generic import add_delete, add_show, lister
from lbaas.cli.kinds import HEALTHMONITOR, POOL
from lbaas.cli.params import Enable, HealthMonitorArg, Name, NoTag, PoolArg, Tags, compact, given
from lbaas.cli.resolve import find
from lbaas.cli.session import Call, command
from lbaas.core.enums import HttpMethod, MonitorType

app = typer.Typer(help="Health monitors (checks that take failing members out of a pool).",
                  no_args_is_help=True)
HTTP = "HTTP checks"

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


@command(app, "create", wait=True)
def create(call: Call, pool: PoolArg, delay: Delay, timeout: Timeout, max_retries: MaxRetries,
           monitor_type: Annotated[MonitorType, typer.Option(
               "--type", case_sensitive=False, help="Kind of check.")],
           name: Name = None, max_retries_down: MaxRetriesDown = None,
           http_method: Method = None, url_path: UrlPath = None,
           expected_codes: ExpectedCodes = None, http_version: Version = None,
           domain_name: DomainName = None, enable: Enable = None, tag: Tags = None) -> None:
    """Create the health monitor of a pool."""
    options: dict[str, Any] = locals()
    parent = find(call.api, POOL, pool)
    body = {"pool_id": parent["id"], "type": monitor_type, **_attributes(options),
            **compact(tags=tag)}
    call.create(HEALTHMONITOR, body, parent)


@lister(app, HEALTHMONITOR)
def list_(api: ApiClient,
          name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          monitor_type: Annotated[MonitorType | None, typer.Option(
              "--type", case_sensitive=False, help="Only this kind of check.")] = None,
          project: Annotated[str | None, typer.Option("--project", help="Only this project.")]
          = None) -> dict[str, Any]:
    """List health monitors."""
    return {"name": name, "type": monitor_type, "project_id": project}


add_show(app, HEALTHMONITOR, "Show a health monitor.")


@command(app, "set", wait=True)
def set_(call: Call, healthmonitor: HealthMonitorArg, name: Name = None,
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
         tag: Tags = None, no_tag: NoTag = False) -> None:
    """Update a health monitor."""
    options: dict[str, Any] = locals()
    current = find(call.api, HEALTHMONITOR, healthmonitor)
    call.update(HEALTHMONITOR, current, _attributes(options), tag, no_tag)


add_delete(app, HEALTHMONITOR, "Delete a health monitor.")
