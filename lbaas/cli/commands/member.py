"""``lbaas member create|list|show|set|delete POOL …``: the back-end servers of a pool."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli import render
from lbaas.cli.client import DEFAULT_ENDPOINT
from lbaas.cli.kinds import MEMBER, POOL, SUBNET
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
from lbaas.cli.resolve import find, find_id, loadbalancer_of_pool
from lbaas.cli.session import connect, settle, settled
from lbaas.cli.wait import DEFAULT_WAIT_TIMEOUT

app = typer.Typer(help="Pool members (back-end servers); the pool comes first.",
                  no_args_is_help=True)

MemberArg = Annotated[str, typer.Argument(help="Member (name or ID).")]
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


@app.command("create")
def create(pool: PoolArg,
           address: Annotated[str, typer.Option("--address", help="IP address of the server.")],
           protocol_port: Annotated[int, typer.Option(
               "--protocol-port", min=1, max=65535, help="Port the server listens on.")],
           name: Name = None, weight: Weight = None, backup: Backup = None,
           subnet_id: Annotated[str | None, typer.Option(
               "--subnet-id", help="Subnet (name or ID) the address is on.")] = None,
           monitor_address: MonitorAddress = None, monitor_port: MonitorPort = None,
           enable: Enable = None, tag: Tags = None, endpoint: Endpoint = DEFAULT_ENDPOINT,
           token: Token = None, fmt: Format = "table", column: Columns = None,
           wait: Wait = False, wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Add a member to a pool."""
    options: dict[str, Any] = locals()
    with connect(endpoint, token) as api:
        parent = find(api, POOL, pool)
        body = {"address": address, "protocol_port": protocol_port,
                **given(options, ATTRIBUTES),
                **compact(subnet_id=find_id(api, SUBNET, subnet_id), tags=tag)}
        member = api.post(MEMBER.path(parent["id"]), {"member": body})["member"]
        member = settled(api, MEMBER, member, loadbalancer_of_pool(parent), wait, wait_timeout,
                         parent["id"])
        render.show(member, fmt, column)


@app.command("list")
def list_(pool: PoolArg,
          name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          address: Annotated[str | None, typer.Option("--address")] = None,
          protocol_port: Annotated[int | None, typer.Option("--protocol-port")] = None,
          tags: TagsAll = None, any_tags: TagsAny = None, not_tags: NotTags = None,
          not_any_tags: NotTagsAny = None, endpoint: Endpoint = DEFAULT_ENDPOINT,
          token: Token = None, fmt: Format = "table", column: Columns = None) -> None:
    """List the members of a pool."""
    query = list_query(tags, any_tags, not_tags, not_any_tags, name=name, address=address,
                       protocol_port=protocol_port)
    with connect(endpoint, token) as api:
        pool_id = find(api, POOL, pool)["id"]
        items = api.list(MEMBER.path(pool_id), MEMBER.plural, query)
        render.show_list(items, MEMBER.columns, fmt, column)


@app.command("show")
def show(pool: PoolArg, member: MemberArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
         token: Token = None, fmt: Format = "table", column: Columns = None) -> None:
    """Show a member of a pool."""
    with connect(endpoint, token) as api:
        pool_id = find(api, POOL, pool)["id"]
        render.show(find(api, MEMBER, member, pool_id), fmt, column)


@app.command("set")
def set_(pool: PoolArg, member: MemberArg, name: Name = None, weight: Weight = None,
         backup: Backup = None, monitor_address: MonitorAddress = None,
         monitor_port: MonitorPort = None, enable: Enable = None, tag: Tags = None,
         no_tag: NoTag = False, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
         fmt: Format = "table", column: Columns = None, wait: Wait = False,
         wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Update a member of a pool."""
    options: dict[str, Any] = locals()
    with connect(endpoint, token) as api:
        parent = find(api, POOL, pool)
        current = find(api, MEMBER, member, parent["id"])
        body = given(options, ATTRIBUTES) | compact(
            tags=tags_after_set(current["tags"], tag, no_tag))
        require_changes(body)
        updated = api.put(MEMBER.item_path(current["id"], parent["id"]),
                          {"member": body})["member"]
        updated = settled(api, MEMBER, updated, loadbalancer_of_pool(parent), wait,
                          wait_timeout, parent["id"])
        render.show(updated, fmt, column)


@app.command("delete")
def delete(pool: PoolArg, member: MemberArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
           token: Token = None, wait: Wait = False,
           wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Remove a member from a pool."""
    with connect(endpoint, token) as api:
        parent = find(api, POOL, pool)
        member_id = find(api, MEMBER, member, parent["id"])["id"]
        api.delete(MEMBER.item_path(member_id, parent["id"]))
        settle(api, loadbalancer_of_pool(parent), wait, wait_timeout)
