"""Options shared by the resource commands, and parsers for the structured option values."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Annotated, Any, get_args

import typer

from lbaas.cli.choices import OutputFormat
from lbaas.cli.client import DEFAULT_ENDPOINT
from lbaas.cli.kinds import (
    HEALTHMONITOR,
    L7POLICY,
    L7RULE,
    LISTENER,
    LOADBALANCER,
    MEMBER,
    POOL,
    Kind,
)
from lbaas.cli.wait import DEFAULT_WAIT_TIMEOUT
from lbaas.core.enums import ALPNProtocol, TLSVersion

CONNECTION = "Connection"
OUTPUT = "Output"
FILTERS = "Filters"

Endpoint = Annotated[str, typer.Option(
    "--os-endpoint", envvar=["OS_ENDPOINT", "LBAAS_ENDPOINT"], rich_help_panel=CONNECTION,
    help="API endpoint (server root; a /v2 or /v2/lbaas suffix is fine).")]
Token = Annotated[str | None, typer.Option(
    "--os-token", envvar=["OS_TOKEN", "LBAAS_TOKEN"], show_default=False,
    rich_help_panel=CONNECTION, help="API token, sent as X-Auth-Token.")]
Format = Annotated[OutputFormat, typer.Option(
    "--format", "-f", case_sensitive=False, rich_help_panel=OUTPUT,
    help="table (default), json (machine-readable) or value (bare values).")]
Columns = Annotated[list[str] | None, typer.Option(
    "--column", "-c", rich_help_panel=OUTPUT, show_default=False,
    help="Attribute to show (repeatable); default: all for show, the usual ones for list.")]
Wait = Annotated[bool, typer.Option(
    "--wait", help="Wait until the load balancer is ACTIVE again (or gone, for a delete).")]
WaitTimeout = Annotated[float, typer.Option(
    "--wait-timeout", min=0, help="Seconds --wait waits before failing.")]


def argument(kind: Kind) -> Any:
    """The positional argument naming one ``kind`` object."""
    return typer.Argument(help=kind.argument_help)


LoadBalancerArg = Annotated[str, argument(LOADBALANCER)]
ListenerArg = Annotated[str, argument(LISTENER)]
PoolArg = Annotated[str, argument(POOL)]
MemberArg = Annotated[str, argument(MEMBER)]
HealthMonitorArg = Annotated[str, argument(HEALTHMONITOR)]
L7PolicyArg = Annotated[str, argument(L7POLICY)]
L7RuleArg = Annotated[str, argument(L7RULE)]

Name = Annotated[str | None, typer.Option("--name", help="Name.")]
Description = Annotated[str | None, typer.Option("--description", help="Description.")]
Enable = Annotated[bool | None, typer.Option(
    "--enable/--disable", show_default=False, help="Administrative state (admin_state_up).")]
Tags = Annotated[list[str] | None, typer.Option(
    "--tag", show_default=False, help="Tag (repeatable); on set, added to the existing tags.")]
NoTag = Annotated[bool, typer.Option("--no-tag", help="Remove all tags first (set only).")]
EnabledFilter = Annotated[bool | None, typer.Option(
    "--enable/--disable", show_default=False, rich_help_panel=FILTERS,
    help="Only enabled (or disabled) objects.")]


def tls_ciphers(panel: str) -> Any:
    """``--tls-ciphers`` (listeners and pools), in help panel ``panel``."""
    return typer.Option("--tls-ciphers", rich_help_panel=panel, help="OpenSSL cipher string.")


def tls_versions(panel: str) -> Any:
    """``--tls-version`` (listeners and pools), in help panel ``panel``."""
    return typer.Option("--tls-version", rich_help_panel=panel,
                        metavar="|".join(get_args(TLSVersion)),
                        help="Allowed TLS version (repeatable).")


def alpn_protocols(panel: str) -> Any:
    """``--alpn-protocol`` (listeners and pools), in help panel ``panel``."""
    return typer.Option("--alpn-protocol", rich_help_panel=panel,
                        metavar="|".join(get_args(ALPNProtocol)),
                        help="ALPN protocol (repeatable).")


def _option(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                             default=default)


# The options that commands end with (added by lbaas.cli.session.command), in this order.
CONNECTION_OPTIONS = (_option("endpoint", Endpoint, DEFAULT_ENDPOINT), _option("token", Token))
OUTPUT_OPTIONS = (_option("fmt", Format, "table"), _option("column", Columns))
WAIT_OPTIONS = (_option("wait", Wait, False),
                _option("wait_timeout", WaitTimeout, DEFAULT_WAIT_TIMEOUT))
# The tag filters of every list command (after its own filters); named as list_query takes them.
TAG_FILTERS = tuple(
    _option(name, Annotated[list[str] | None, typer.Option(
        flag, show_default=False, rich_help_panel=FILTERS, help=text)])
    for name, flag, text in (
        ("tags", "--tags", "Only objects having all these tags (comma-separated, or repeat)."),
        ("any_tags", "--any-tags", "Only objects having at least one of these tags."),
        ("not_tags", "--not-tags", "Exclude objects having all these tags."),
        ("not_any_tags", "--not-any-tags", "Exclude objects having any of these tags.")))


def compact(**values: Any) -> dict[str, Any]:
    """The attributes that were given (not ``None``)."""
    return {k: v for k, v in values.items() if v is not None}


def given(options: Mapping[str, Any], attributes: Mapping[str, str]) -> dict[str, Any]:
    """Request attributes from a command's parameters (pass ``locals()``).

    ``attributes`` maps parameter names to API attribute names; parameters left out (``None``, or
    an empty repeatable option) are not sent.
    """
    return {attr: options[opt] for opt, attr in attributes.items()
            if options.get(opt) is not None and options.get(opt) != []}


def parse_pairs(values: list[str] | None, option: str) -> dict[str, str] | None:
    """``K=V`` items (each may hold several, comma-separated) as a dict; ``None`` if none given."""
    if not values:
        return None
    pairs: dict[str, str] = {}
    for raw in values:
        for item in raw.split(","):
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
            pairs[key.strip()] = value.strip()
    return pairs


def parse_persistence(value: str | None) -> dict[str, Any] | None:
    """``type=APP_COOKIE,cookie_name=x`` as a session_persistence object.

    ``persistence_timeout`` becomes a number; the type is upper-cased.
    """
    pairs = parse_pairs([value] if value else None, "'--session-persistence'")
    if pairs is None:
        return None
    if "type" not in pairs:
        raise typer.BadParameter("needs type=APP_COOKIE|HTTP_COOKIE|SOURCE_IP",
                                 param_hint="'--session-persistence'")
    body: dict[str, Any] = dict(pairs)
    body["type"] = pairs["type"].upper()
    if "persistence_timeout" in pairs:
        try:
            body["persistence_timeout"] = int(pairs["persistence_timeout"])
        except ValueError:
            raise typer.BadParameter("persistence_timeout must be a number of seconds",
                                     param_hint="'--session-persistence'") from None
    return body


def tags_after_set(current: list[str], add: list[str] | None, clear: bool) -> list[str] | None:
    """The tags to send on set: ``None`` (unchanged) unless ``--tag`` or ``--no-tag`` was given."""
    if not add and not clear:
        return None
    kept = [] if clear else list(current)
    return kept + [t for t in add or [] if t not in kept]


def require_changes(body: dict[str, Any]) -> None:
    """A usage error (exit 2) when a set command was given nothing to change."""
    if not body:
        raise typer.BadParameter("nothing to set: give at least one attribute option")


def list_query(tags: list[str] | None = None, any_tags: list[str] | None = None,
               not_tags: list[str] | None = None, not_any_tags: list[str] | None = None,
               **filters: Any) -> dict[str, str | list[str]]:
    """Query parameters for a collection GET: the given filters and tag filters."""
    query: dict[str, str | list[str]] = {}
    for key, value in filters.items():
        if value is not None:
            query[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    for key, values in (("tags", tags), ("tags-any", any_tags), ("not-tags", not_tags),
                        ("not-tags-any", not_any_tags)):
        if values:
            query[key] = ",".join(values)
    return query
