"""``lbaas member create|list|show|set|delete POOL …``: the back-end servers of a pool."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli.client import ApiClient
from lbaas.cli.commands.generic import add_delete, add_show, lister
from lbaas.cli.kinds import MEMBER, POOL, SUBNET
from lbaas.cli.params import Enable, MemberArg, Name, NoTag, PoolArg, Tags, compact, given
from lbaas.cli.resolve import find, find_id
from lbaas.cli.session import Call, command

app = typer.Typer(help="Pool members (back-end servers); the pool comes first.",
                  no_args_is_help=True)

Weight = Annotated[int | None, typer.Option(
    "--weight", min=0, max=256, help="Relative share of traffic (0: drain).")]
Backup = Annotated[bool | None, typer.Option(
    "--backup/--no-backup", "--enable-backup/--disable-backup", show_default=False,
    help="Only receive traffic when every other member is down.")]
MonitorAddress = Annotated[str | None, typer.Option(
    "--monitor-address", help="Address health checks go to instead.")]
MonitorPort = Annotated[int | None, typer.Option(
    "--monitor-port", min=1, max=65535, help="Port health checks go to instead.")]

# Options of create and set that map straight to member attributes.
ATTRIBUTES = {"name": "name", "weight": "weight", "backup": "backup",
              "monitor_address": "monitor_address", "monitor_port": "monitor_port",
              "enable": "admin_state_up"}


@command(app, "create", wait=True)
def create(call: Call, pool: PoolArg,
           address: Annotated[str, typer.Option("--address", help="IP address of the server.")],
           protocol_port: Annotated[int, typer.Option(
               "--protocol-port", min=1, max=65535, help="Port the server listens on.")],
           name: Name = None, weight: Weight = None, backup: Backup = None,
           subnet_id: Annotated[str | None, typer.Option(
               "--subnet-id", help="Subnet (name or ID) the address is on.")] = None,
           monitor_address: MonitorAddress = None, monitor_port: MonitorPort = None,
           enable: Enable = None, tag: Tags = None) -> None:
    """Add a member to a pool."""
    options: dict[str, Any] = locals()
    parent = find(call.api, POOL, pool)
    body = {"address": address, "protocol_port": protocol_port, **given(options, ATTRIBUTES),
            **compact(subnet_id=find_id(call.api, SUBNET, subnet_id), tags=tag)}
    call.create(MEMBER, body, parent)


@lister(app, MEMBER)
def list_(api: ApiClient,
          name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          address: Annotated[str | None, typer.Option("--address")] = None,
          protocol_port: Annotated[int | None, typer.Option("--protocol-port")] = None,
          ) -> dict[str, Any]:
    """List the members of a pool."""
    return {"name": name, "address": address, "protocol_port": protocol_port}


add_show(app, MEMBER, "Show a member of a pool.")


@command(app, "set", wait=True)
def set_(call: Call, pool: PoolArg, member: MemberArg, name: Name = None, weight: Weight = None,
         backup: Backup = None, monitor_address: MonitorAddress = None,
         monitor_port: MonitorPort = None, enable: Enable = None, tag: Tags = None,
         no_tag: NoTag = False) -> None:
    """Update a member of a pool."""
    options: dict[str, Any] = locals()
    current, parent = call.locate(MEMBER, pool, member)
    call.update(MEMBER, current, given(options, ATTRIBUTES), tag, no_tag, parent)


add_delete(app, MEMBER, "Remove a member from a pool.")
