"""``lbaas pool create|list|show|set|delete``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli.client import ApiClient
from lbaas.cli.commands.generic import add_delete, add_show, lister
from lbaas.cli.kinds import LISTENER, LOADBALANCER, POOL
from lbaas.cli.params import (
    Description,
    Enable,
    Name,
    NoTag,
    PoolArg,
    Tags,
    alpn_protocols,
    compact,
    given,
    parse_persistence,
    tls_ciphers,
    tls_versions,
)
from lbaas.cli.resolve import find, find_id
from lbaas.cli.session import Call, command
from lbaas.core.enums import Algorithm, PoolProtocol
from lbaas.schemas.pool import DRAIN_TIMEOUT, MAX_DRAIN_OR_RAMP_S, SLOW_START

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
TlsCiphers = Annotated[str | None, tls_ciphers(TLS)]
TlsVersions = Annotated[list[str] | None, tls_versions(TLS)]
AlpnProtocols = Annotated[list[str] | None, alpn_protocols(TLS)]
DrainTimeout = Annotated[int | None, typer.Option(
    "--drain-timeout", min=0, max=MAX_DRAIN_OR_RAMP_S, metavar="SECONDS",
    help="A member removed or set to weight 0 gets no new connections at once and its "
         "connections are cut after this long (default 0: they end on their own).")]
SlowStart = Annotated[int | None, typer.Option(
    "--slow-start", min=0, max=MAX_DRAIN_OR_RAMP_S, metavar="SECONDS",
    help="A member that is added, enabled or comes back up ramps to its full weight over this "
         "long (default 0: at once).")]

# Options of create and set that map straight to pool attributes.
ATTRIBUTES = {name: name for name in (
    "name", "description", "lb_algorithm", "tls_container_ref", "ca_tls_container_ref",
    "crl_container_ref", "tls_ciphers")} | {
    "tls_enabled": "tls_enabled", "tls_version": "tls_versions",
    "alpn_protocol": "alpn_protocols", "enable": "admin_state_up",
    "drain_timeout": DRAIN_TIMEOUT, "slow_start": SLOW_START}


def _attributes(options: dict[str, Any]) -> dict[str, Any]:
    """The attributes create and set send, from their parameters."""
    body = given(options, ATTRIBUTES)
    persistence = options["session_persistence"]
    if persistence is not None and persistence.strip().lower() == "none":
        body["session_persistence"] = None
    elif persistence is not None:
        body["session_persistence"] = parse_persistence(persistence)
    return body


@command(app, "create", wait=True)
def create(call: Call,
           protocol: Annotated[PoolProtocol, typer.Option(
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
           alpn_protocol: AlpnProtocols = None, enable: Enable = None,
           tag: Tags = None, drain_timeout: DrainTimeout = None,
           slow_start: SlowStart = None) -> None:
    """Create a pool on a load balancer, or as the default pool of a listener."""
    if not (listener or loadbalancer):
        raise typer.BadParameter("one of them is required",
                                 param_hint="'--listener' / '--loadbalancer'")
    body = {"protocol": protocol, **_attributes(locals()), **compact(
        listener_id=find_id(call.api, LISTENER, listener),
        loadbalancer_id=find_id(call.api, LOADBALANCER, loadbalancer), tags=tag)}
    call.create(POOL, body)


@lister(app, POOL)
def list_(api: ApiClient,
          name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          loadbalancer: Annotated[str | None, typer.Option(
              "--loadbalancer", help="Only pools of this load balancer (name or ID).")] = None,
          protocol: Annotated[PoolProtocol | None, typer.Option(
              "--protocol", case_sensitive=False)] = None,
          lb_algorithm: Annotated[Algorithm | None, typer.Option(
              "--lb-algorithm", case_sensitive=False)] = None,
          project: Annotated[str | None, typer.Option("--project", help="Only this project.")]
          = None) -> dict[str, Any]:
    """List pools."""
    return {"name": name, "loadbalancer_id": find_id(api, LOADBALANCER, loadbalancer),
            "protocol": protocol, "lb_algorithm": lb_algorithm, "project_id": project}


add_show(app, POOL, "Show a pool.")


@command(app, "set", wait=True)
def set_(call: Call, pool: PoolArg, name: Name = None, description: Description = None,
         lb_algorithm: Annotated[Algorithm | None, typer.Option(
             "--lb-algorithm", case_sensitive=False, help="Load balancing algorithm.")] = None,
         session_persistence: SessionPersistence = None,
         tls_container_ref: TlsContainer = None, ca_tls_container_ref: CaContainer = None,
         crl_container_ref: CrlContainer = None, tls_enabled: TlsEnabled = None,
         tls_ciphers: TlsCiphers = None, tls_version: TlsVersions = None,
         alpn_protocol: AlpnProtocols = None, enable: Enable = None, tag: Tags = None,
         no_tag: NoTag = False, drain_timeout: DrainTimeout = None,
         slow_start: SlowStart = None) -> None:
    """Update a pool."""
    attributes = _attributes(locals())
    call.update(POOL, find(call.api, POOL, pool), attributes, tag, no_tag)


add_delete(app, POOL, "Delete a pool, with its members and health monitor.")
