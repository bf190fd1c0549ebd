"""``lbaas pool create|list|show|set|delete``."""

from __future__ import annotations

from typing import Annotated, Any, get_args

import typer

from lbaas.cli import render
from lbaas.cli.choices import Algorithm, ALPNProtocol, PoolProtocol, TLSVersion
from lbaas.cli.client import DEFAULT_ENDPOINT
from lbaas.cli.kinds import LISTENER, LOADBALANCER, POOL
from lbaas.cli.params import (
    Columns,
    Description,
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
    parse_persistence,
    require_changes,
    tags_after_set,
)
from lbaas.cli.resolve import find, find_id, loadbalancer_of_pool
from lbaas.cli.session import connect, settle, settled
from lbaas.cli.wait import DEFAULT_WAIT_TIMEOUT

app = typer.Typer(help="Pools (groups of members that receive traffic).", no_args_is_help=True)
TLS = "Backend TLS"

LbAlgorithm = Annotated[Algorithm, typer.Option(
    "--lb-algorithm", case_sensitive=False, help="Load balancing algorithm.")]
SessionPersistence = Annotated[str | None, typer.Option(
    "--session-persistence", metavar="type=TYPE[,cookie_name=NAME,…]",
    help="Session persistence, e.g. type=APP_COOKIE,cookie_name=sid (set: 'none' removes it).")]
TlsContainer = Annotated[str | None, typer.Option(
    "--tls-container-ref", rich_help_panel=TLS, help="Client certificate for members.")]
CaContainer = Annotated[str | None, typer.Option(
    "--ca-tls-container-ref", rich_help_panel=TLS, help="CA to verify members with.")]
CrlContainer = Annotated[str | None, typer.Option(
    "--crl-container-ref", rich_help_panel=TLS, help="CRL for member certificates.")]
TlsEnabled = Annotated[bool | None, typer.Option(
    "--enable-tls/--disable-tls", show_default=False, rich_help_panel=TLS,
    help="Use TLS towards the members.")]
TlsCiphers = Annotated[str | None, typer.Option(
    "--tls-ciphers", rich_help_panel=TLS, help="OpenSSL cipher string.")]
TlsVersions = Annotated[list[str] | None, typer.Option(
    "--tls-version", rich_help_panel=TLS, metavar="|".join(get_args(TLSVersion)),
    help="Allowed TLS version (repeatable).")]
AlpnProtocols = Annotated[list[str] | None, typer.Option(
    "--alpn-protocol", rich_help_panel=TLS, metavar="|".join(get_args(ALPNProtocol)),
    help="ALPN protocol (repeatable).")]

# Options of create and set that map straight to pool attributes.
ATTRIBUTES = {name: name for name in (
    "name", "description", "lb_algorithm", "tls_container_ref", "ca_tls_container_ref",
    "crl_container_ref", "tls_ciphers")} | {
    "tls_enabled": "tls_enabled", "tls_version": "tls_versions",
    "alpn_protocol": "alpn_protocols", "enable": "admin_state_up"}


def _attributes(options: dict[str, Any]) -> dict[str, Any]:
    """The attributes create and set send, from their parameters."""
    body = given(options, ATTRIBUTES)
    persistence = options["session_persistence"]
    if persistence is not None and persistence.strip().lower() == "none":
        body["session_persistence"] = None
    elif persistence is not None:
        body["session_persistence"] = parse_persistence(persistence)
    return body


@app.command("create")
def create(protocol: Annotated[PoolProtocol, typer.Option(
               "--protocol", case_sensitive=False, help="Protocol towards the members.")],
           lb_algorithm: LbAlgorithm,
           listener: Annotated[str | None, typer.Option(
               "--listener", help="Listener (name or ID) to be the default pool of.")] = None,
           loadbalancer: Annotated[str | None, typer.Option(
               "--loadbalancer", help="Load balancer (name or ID) to add the pool to.")] = None,
           name: Name = None, description: Description = None,
           session_persistence: SessionPersistence = None,
           tls_container_ref: TlsContainer = None, ca_tls_container_ref: CaContainer = None,
           crl_container_ref: CrlContainer = None, tls_enabled: TlsEnabled = None,
           tls_ciphers: TlsCiphers = None, tls_version: TlsVersions = None,
           alpn_protocol: AlpnProtocols = None, enable: Enable = None, tag: Tags = None,
           endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None, fmt: Format = "table",
           column: Columns = None, wait: Wait = False,
           wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Create a pool on a load balancer, or as the default pool of a listener."""
    if not (listener or loadbalancer):
        raise typer.BadParameter("one of them is required",
                                 param_hint="'--listener' / '--loadbalancer'")
    options = locals()
    with connect(endpoint, token) as api:
        body = {"protocol": protocol, **_attributes(options), **compact(
            listener_id=find_id(api, LISTENER, listener),
            loadbalancer_id=find_id(api, LOADBALANCER, loadbalancer), tags=tag)}
        pool = api.post(POOL.path(), {"pool": body})["pool"]
        pool = settled(api, POOL, pool, loadbalancer_of_pool(pool), wait, wait_timeout)
        render.show(pool, fmt, column)


@app.command("list")
def list_(name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          loadbalancer: Annotated[str | None, typer.Option(
              "--loadbalancer", help="Only pools of this load balancer (name or ID).")] = None,
          protocol: Annotated[PoolProtocol | None, typer.Option(
              "--protocol", case_sensitive=False)] = None,
          lb_algorithm: Annotated[Algorithm | None, typer.Option(
              "--lb-algorithm", case_sensitive=False)] = None,
          project: Annotated[str | None, typer.Option("--project", help="Only this project.")]
          = None,
          tags: TagsAll = None, any_tags: TagsAny = None, not_tags: NotTags = None,
          not_any_tags: NotTagsAny = None, endpoint: Endpoint = DEFAULT_ENDPOINT,
          token: Token = None, fmt: Format = "table", column: Columns = None) -> None:
    """List pools."""
    with connect(endpoint, token) as api:
        query = list_query(tags, any_tags, not_tags, not_any_tags, name=name,
                           loadbalancer_id=find_id(api, LOADBALANCER, loadbalancer),
                           protocol=protocol, lb_algorithm=lb_algorithm, project_id=project)
        render.show_list(api.list(POOL.path(), POOL.plural, query), POOL.columns, fmt, column)


@app.command("show")
def show(pool: PoolArg, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
         fmt: Format = "table", column: Columns = None) -> None:
    """Show a pool."""
    with connect(endpoint, token) as api:
        render.show(find(api, POOL, pool), fmt, column)


@app.command("set")
def set_(pool: PoolArg, name: Name = None, description: Description = None,
         lb_algorithm: Annotated[Algorithm | None, typer.Option(
             "--lb-algorithm", case_sensitive=False, help="Load balancing algorithm.")] = None,
         session_persistence: SessionPersistence = None,
         tls_container_ref: TlsContainer = None, ca_tls_container_ref: CaContainer = None,
         crl_container_ref: CrlContainer = None, tls_enabled: TlsEnabled = None,
         tls_ciphers: TlsCiphers = None, tls_version: TlsVersions = None,
         alpn_protocol: AlpnProtocols = None, enable: Enable = None, tag: Tags = None,
         no_tag: NoTag = False, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
         fmt: Format = "table", column: Columns = None, wait: Wait = False,
         wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Update a pool."""
    attributes = _attributes(locals())
    with connect(endpoint, token) as api:
        current = find(api, POOL, pool)
        body = attributes | compact(tags=tags_after_set(current["tags"], tag, no_tag))
        require_changes(body)
        updated = api.put(POOL.item_path(current["id"]), {"pool": body})["pool"]
        lb_id = loadbalancer_of_pool(current)
        render.show(settled(api, POOL, updated, lb_id, wait, wait_timeout), fmt, column)


@app.command("delete")
def delete(pool: PoolArg, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
           wait: Wait = False, wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Delete a pool, with its members and health monitor."""
    with connect(endpoint, token) as api:
        current = find(api, POOL, pool)
        api.delete(POOL.item_path(current["id"]))
        settle(api, loadbalancer_of_pool(current), wait, wait_timeout)
