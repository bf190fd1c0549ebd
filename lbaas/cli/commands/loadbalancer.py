"""``lbaas loadbalancer create|list|show|set|delete|status|stats|failover``."""

from __future__ import annotations

from typing import Annotated

import typer

from lbaas.cli import render
from lbaas.cli.choices import OperatingStatus, ProvisioningStatus
from lbaas.cli.client import DEFAULT_ENDPOINT
from lbaas.cli.kinds import LOADBALANCER, NETWORK, SUBNET, Kind
from lbaas.cli.params import (
    Columns,
    Description,
    Enable,
    EnabledFilter,
    Endpoint,
    Format,
    LoadBalancerArg,
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
    list_query,
    require_changes,
    tags_after_set,
)
from lbaas.cli.resolve import find, find_id
from lbaas.cli.session import connect, settle, settled
from lbaas.cli.wait import DEFAULT_WAIT_TIMEOUT, wait_for_loadbalancer

app = typer.Typer(help="Load balancers.", no_args_is_help=True)
FLAVOR = Kind("flavor", "/flavors", "flavor", "flavors", ("id", "name"))

VipQos = Annotated[str | None, typer.Option("--vip-qos-policy-id", help="VIP QoS policy ID.")]


@app.command("create")
def create(name: Name = None, description: Description = None,
           vip_subnet_id: Annotated[str | None, typer.Option(
               "--vip-subnet-id", help="Subnet (name or ID) to take the VIP from.")] = None,
           vip_network_id: Annotated[str | None, typer.Option(
               "--vip-network-id", help="Network (name or ID) to take the VIP from.")] = None,
           vip_port_id: Annotated[str | None, typer.Option(
               "--vip-port-id", help="Existing port to use for the VIP.")] = None,
           vip_address: Annotated[str | None, typer.Option(
               "--vip-address", help="VIP address to ask for.")] = None,
           vip_qos_policy_id: VipQos = None,
           provider: Annotated[str | None, typer.Option("--provider", help="Provider.")] = None,
           flavor: Annotated[str | None, typer.Option(
               "--flavor", help="Flavor (name or ID).")] = None,
           availability_zone: Annotated[str | None, typer.Option(
               "--availability-zone", help="Availability zone.")] = None,
           project: Annotated[str | None, typer.Option(
               "--project", help="Owning project (admin only).")] = None,
           enable: Enable = None, tag: Tags = None,
           endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None, fmt: Format = "table",
           column: Columns = None, wait: Wait = False,
           wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Create a load balancer (give --vip-subnet-id, --vip-network-id or --vip-port-id)."""
    if not (vip_subnet_id or vip_network_id or vip_port_id):
        raise typer.BadParameter("one of them is required",
                                 param_hint="'--vip-subnet-id' / '--vip-network-id' / "
                                            "'--vip-port-id'")
    with connect(endpoint, token) as api:
        body = compact(name=name, description=description, vip_address=vip_address,
                       vip_subnet_id=find_id(api, SUBNET, vip_subnet_id),
                       vip_network_id=find_id(api, NETWORK, vip_network_id),
                       vip_port_id=vip_port_id, vip_qos_policy_id=vip_qos_policy_id,
                       provider=provider, flavor_id=find_id(api, FLAVOR, flavor),
                       availability_zone=availability_zone, project_id=project,
                       admin_state_up=enable, tags=tag)
        lb = api.post(LOADBALANCER.path(), {"loadbalancer": body})["loadbalancer"]
        lb = settled(api, LOADBALANCER, lb, lb["id"], wait, wait_timeout)
        render.show(lb, fmt, column)


@app.command("list")
def list_(name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          project: Annotated[str | None, typer.Option("--project", help="Only this project.")]
          = None,
          provisioning_status: Annotated[ProvisioningStatus | None, typer.Option(
              "--provisioning-status", case_sensitive=False)] = None,
          operating_status: Annotated[OperatingStatus | None, typer.Option(
              "--operating-status", case_sensitive=False)] = None,
          vip_address: Annotated[str | None, typer.Option("--vip-address")] = None,
          provider: Annotated[str | None, typer.Option("--provider")] = None,
          enable: EnabledFilter = None, tags: TagsAll = None, any_tags: TagsAny = None,
          not_tags: NotTags = None, not_any_tags: NotTagsAny = None,
          endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None, fmt: Format = "table",
          column: Columns = None) -> None:
    """List load balancers."""
    query = list_query(tags, any_tags, not_tags, not_any_tags, name=name, project_id=project,
                       provisioning_status=provisioning_status,
                       operating_status=operating_status, vip_address=vip_address,
                       provider=provider, admin_state_up=enable)
    with connect(endpoint, token) as api:
        items = api.list(LOADBALANCER.path(), LOADBALANCER.plural, query)
        render.show_list(items, LOADBALANCER.columns, fmt, column)


@app.command("show")
def show(loadbalancer: LoadBalancerArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
         token: Token = None, fmt: Format = "table", column: Columns = None) -> None:
    """Show a load balancer."""
    with connect(endpoint, token) as api:
        render.show(find(api, LOADBALANCER, loadbalancer), fmt, column)


@app.command("set")
def set_(loadbalancer: LoadBalancerArg, name: Name = None, description: Description = None,
         vip_qos_policy_id: VipQos = None, enable: Enable = None, tag: Tags = None,
         no_tag: NoTag = False, endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
         fmt: Format = "table", column: Columns = None, wait: Wait = False,
         wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Update a load balancer."""
    with connect(endpoint, token) as api:
        lb = find(api, LOADBALANCER, loadbalancer)
        body = compact(name=name, description=description, vip_qos_policy_id=vip_qos_policy_id,
                       admin_state_up=enable, tags=tags_after_set(lb["tags"], tag, no_tag))
        require_changes(body)
        lb = api.put(LOADBALANCER.item_path(lb["id"]), {"loadbalancer": body})["loadbalancer"]
        lb = settled(api, LOADBALANCER, lb, lb["id"], wait, wait_timeout)
        render.show(lb, fmt, column)


@app.command("delete")
def delete(loadbalancer: LoadBalancerArg,
           cascade: Annotated[bool, typer.Option(
               "--cascade", help="Delete its listeners, pools and everything below too.")]
           = False,
           endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None, wait: Wait = False,
           wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Delete a load balancer (--wait: until it is gone)."""
    with connect(endpoint, token) as api:
        lb_id = find(api, LOADBALANCER, loadbalancer)["id"]
        api.delete(LOADBALANCER.item_path(lb_id), {"cascade": "True"} if cascade else None)
        if wait:
            wait_for_loadbalancer(api, lb_id, wait_timeout, gone=True, console=render.stderr())


@app.command("status")
def status(loadbalancer: LoadBalancerArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
           token: Token = None, fmt: Format = "table") -> None:
    """Show the status tree of a load balancer and everything below it."""
    with connect(endpoint, token) as api:
        lb_id = find(api, LOADBALANCER, loadbalancer)["id"]
        render.status_tree(api.get(f"{LOADBALANCER.item_path(lb_id)}/status"), fmt)


@app.command("stats")
def stats(loadbalancer: LoadBalancerArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
          token: Token = None, fmt: Format = "table", column: Columns = None) -> None:
    """Show the traffic statistics of a load balancer."""
    with connect(endpoint, token) as api:
        lb_id = find(api, LOADBALANCER, loadbalancer)["id"]
        body = api.get(f"{LOADBALANCER.item_path(lb_id)}/stats")
        render.show(body["stats"], fmt, column)


@app.command("failover")
def failover(loadbalancer: LoadBalancerArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
             token: Token = None, wait: Wait = False,
             wait_timeout: WaitTimeout = DEFAULT_WAIT_TIMEOUT) -> None:
    """Fail a load balancer over (rebuild its data plane)."""
    with connect(endpoint, token) as api:
        lb_id = find(api, LOADBALANCER, loadbalancer)["id"]
        api.put(f"{LOADBALANCER.item_path(lb_id)}/failover")
        settle(api, lb_id, wait, wait_timeout)
