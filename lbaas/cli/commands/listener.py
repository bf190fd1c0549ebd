"""``lbaas listener create|list|show|set|delete|stats``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli.client import ApiClient
from lbaas.cli.commands.generic import add_delete, add_show, add_stats, lister
from lbaas.cli.kinds import LISTENER, LOADBALANCER, POOL
from lbaas.cli.params import (
    Description,
    Enable,
    EnabledFilter,
    ListenerArg,
    LoadBalancerArg,
    Name,
    NoTag,
    Tags,
    alpn_protocols,
    compact,
    given,
    parse_pairs,
    tls_ciphers,
    tls_versions,
)
from lbaas.cli.resolve import find, find_id
from lbaas.cli.session import Call, command
from lbaas.core.enums import ClientAuthentication, ListenerProtocol
from lbaas.schemas.listener import ACCESS_LOG

app = typer.Typer(help="Listeners (a protocol and port on a load balancer's VIP).",
                  no_args_is_help=True)
TLS = "TLS"

ConnectionLimit = Annotated[int | None, typer.Option(
    "--connection-limit", help="Maximum connections (-1: unlimited).")]
DefaultPool = Annotated[str | None, typer.Option(
    "--default-pool", help="Pool (name or ID) for requests no L7 policy redirects.")]
InsertHeaders = Annotated[list[str] | None, typer.Option(
    "--insert-headers", metavar="HEADER=VALUE[,…]",
    help="Headers to insert, e.g. X-Forwarded-For=true (repeatable).")]
AllowedCidrs = Annotated[list[str] | None, typer.Option(
    "--allowed-cidr", help="CIDR allowed to connect (repeatable).")]


def _timeout(flag: str, what: str) -> Any:
    return typer.Option(flag, min=0, help=f"{what} timeout in milliseconds.")


TimeoutClientData = Annotated[int | None, _timeout("--timeout-client-data",
                                                   "Frontend client inactivity")]
TimeoutMemberConnect = Annotated[int | None, _timeout("--timeout-member-connect",
                                                      "Backend member connection")]
TimeoutMemberData = Annotated[int | None, _timeout("--timeout-member-data",
                                                   "Backend member inactivity")]
TimeoutTcpInspect = Annotated[int | None, _timeout("--timeout-tcp-inspect",
                                                   "Content inspection wait")]
DefaultTls = Annotated[str | None, typer.Option(
    "--default-tls-container-ref", rich_help_panel=TLS, help="Certificate secret reference.")]
SniRefs = Annotated[list[str] | None, typer.Option(
    "--sni-container-refs", rich_help_panel=TLS, help="SNI certificate reference (repeatable).")]
ClientCa = Annotated[str | None, typer.Option(
    "--client-ca-tls-container-ref", rich_help_panel=TLS, help="Client CA reference.")]
ClientAuth = Annotated[ClientAuthentication | None, typer.Option(
    "--client-authentication", case_sensitive=False, rich_help_panel=TLS,
    help="Client certificate authentication mode.")]
ClientCrl = Annotated[str | None, typer.Option(
    "--client-crl-container-ref", rich_help_panel=TLS, help="Client CRL reference.")]
TlsCiphers = Annotated[str | None, tls_ciphers(TLS)]
TlsVersions = Annotated[list[str] | None, tls_versions(TLS)]
AlpnProtocols = Annotated[list[str] | None, alpn_protocols(TLS)]
HstsMaxAge = Annotated[int | None, typer.Option(
    "--hsts-max-age", min=0, rich_help_panel=TLS, help="HSTS max-age in seconds.")]
HstsSubdomains = Annotated[bool | None, typer.Option(
    "--hsts-include-subdomains/--no-hsts-include-subdomains", show_default=False,
    rich_help_panel=TLS, help="HSTS includeSubDomains.")]
HstsPreload = Annotated[bool | None, typer.Option(
    "--hsts-preload/--no-hsts-preload", show_default=False, rich_help_panel=TLS,
    help="HSTS preload.")]
AccessLog = Annotated[bool | None, typer.Option(
    "--access-log/--no-access-log", show_default=False,
    help="Write this listener's requests to the load balancer's access log (default: on).")]


# Options of create and set that map straight to listener attributes.
ATTRIBUTES = {name: name for name in (
    "name", "description", "connection_limit", "timeout_client_data", "timeout_member_connect",
    "timeout_member_data", "timeout_tcp_inspect", "default_tls_container_ref",
    "sni_container_refs", "client_ca_tls_container_ref", "client_authentication",
    "client_crl_container_ref", "tls_ciphers", "hsts_max_age", "hsts_include_subdomains",
    "hsts_preload")} | {"tls_version": "tls_versions", "alpn_protocol": "alpn_protocols",
                        "allowed_cidr": "allowed_cidrs", "enable": "admin_state_up",
                        "access_log": ACCESS_LOG}


def _attributes(api: ApiClient, options: dict[str, Any]) -> dict[str, Any]:
    """The attributes create and set send, from their parameters, with names resolved to ids."""
    headers = parse_pairs(options["insert_headers"], "'--insert-headers'")
    return given(options, ATTRIBUTES) | compact(
        insert_headers=headers, default_pool_id=find_id(api, POOL, options["default_pool"]))


@command(app, "create", wait=True)
def create(call: Call, loadbalancer: LoadBalancerArg,
           protocol: Annotated[ListenerProtocol, typer.Option(
               "--protocol", case_sensitive=False, help="Protocol.")],
           protocol_port: Annotated[int, typer.Option(
               "--protocol-port", min=1, max=65535, help="Port to listen on.")],
           name: Name = None, description: Description = None,
           connection_limit: ConnectionLimit = None, default_pool: DefaultPool = None,
           insert_headers: InsertHeaders = None, allowed_cidr: AllowedCidrs = None,
           timeout_client_data: TimeoutClientData = None,
           timeout_member_connect: TimeoutMemberConnect = None,
           timeout_member_data: TimeoutMemberData = None,
           timeout_tcp_inspect: TimeoutTcpInspect = None,
           default_tls_container_ref: DefaultTls = None, sni_container_refs: SniRefs = None,
           client_ca_tls_container_ref: ClientCa = None,
           client_authentication: ClientAuth = None,
           client_crl_container_ref: ClientCrl = None, tls_ciphers: TlsCiphers = None,
           tls_version: TlsVersions = None, alpn_protocol: AlpnProtocols = None,
           hsts_max_age: HstsMaxAge = None, hsts_include_subdomains: HstsSubdomains = None,
           hsts_preload: HstsPreload = None, enable: Enable = None, tag: Tags = None,
           access_log: AccessLog = None) -> None:
    """Create a listener on a load balancer."""
    attributes = _attributes(call.api, locals())
    lb = find(call.api, LOADBALANCER, loadbalancer)
    body = {"loadbalancer_id": lb["id"], "protocol": protocol, "protocol_port": protocol_port,
            **attributes, **compact(tags=tag)}
    call.create(LISTENER, body, lb)


@lister(app, LISTENER)
def list_(api: ApiClient,
          name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          loadbalancer: Annotated[str | None, typer.Option(
              "--loadbalancer", help="Only listeners of this load balancer (name or ID).")]
          = None,
          protocol: Annotated[ListenerProtocol | None, typer.Option(
              "--protocol", case_sensitive=False)] = None,
          protocol_port: Annotated[int | None, typer.Option("--protocol-port")] = None,
          project: Annotated[str | None, typer.Option("--project", help="Only this project.")]
          = None,
          enable: EnabledFilter = None) -> dict[str, Any]:
    """List listeners."""
    return {"name": name, "loadbalancer_id": find_id(api, LOADBALANCER, loadbalancer),
            "protocol": protocol, "protocol_port": protocol_port, "project_id": project,
            "admin_state_up": enable}


add_show(app, LISTENER, "Show a listener.")


@command(app, "set", wait=True)
def set_(call: Call, listener: ListenerArg, name: Name = None, description: Description = None,
         connection_limit: ConnectionLimit = None, default_pool: DefaultPool = None,
         insert_headers: InsertHeaders = None, allowed_cidr: AllowedCidrs = None,
         timeout_client_data: TimeoutClientData = None,
         timeout_member_connect: TimeoutMemberConnect = None,
         timeout_member_data: TimeoutMemberData = None,
         timeout_tcp_inspect: TimeoutTcpInspect = None,
         default_tls_container_ref: DefaultTls = None, sni_container_refs: SniRefs = None,
         client_ca_tls_container_ref: ClientCa = None, client_authentication: ClientAuth = None,
         client_crl_container_ref: ClientCrl = None, tls_ciphers: TlsCiphers = None,
         tls_version: TlsVersions = None, alpn_protocol: AlpnProtocols = None,
         hsts_max_age: HstsMaxAge = None, hsts_include_subdomains: HstsSubdomains = None,
         hsts_preload: HstsPreload = None, enable: Enable = None, tag: Tags = None,
         no_tag: NoTag = False, access_log: AccessLog = None) -> None:
    """Update a listener."""
    options = locals()
    current = find(call.api, LISTENER, listener)
    call.update(LISTENER, current, _attributes(call.api, options), tag, no_tag)


add_delete(app, LISTENER, "Delete a listener.")
add_stats(app, LISTENER, "Show the traffic statistics of a listener.")
