"""``lbaas loadbalancer create|list|show|set|delete|status|stats|failover|agent``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lbaas.cli import output
from lbaas.cli.client import DEFAULT_ENDPOINT, ApiClient
from lbaas.cli.commands.generic import add_show, add_stats, lister
from lbaas.cli.kinds import LOADBALANCER, NETWORK, SUBNET, Kind
from lbaas.cli.params import (
    Description,
    Enable,
    EnabledFilter,
    Endpoint,
    Format,
    LoadBalancerArg,
    Name,
    NoTag,
    Tags,
    Token,
    compact,
)
from lbaas.cli.resolve import find, find_id
from lbaas.cli.session import Call, command, connect
from lbaas.core.status import Operating, Provisioning

app = typer.Typer(help="Load balancers.", no_args_is_help=True)
FLAVOR = Kind("flavor", "/flavors", "flavor", "flavors", ("id", "name"))

VipQos = Annotated[str | None, typer.Option("--vip-qos-policy-id", help="VIP QoS policy ID.")]


@command(app, "create", wait=True)
def create(call: Call, name: Name = None, description: Description = None,
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
           enable: Enable = None, tag: Tags = None) -> None:
    """Create a load balancer (give --vip-subnet-id, --vip-network-id or --vip-port-id)."""
    if not (vip_subnet_id or vip_network_id or vip_port_id):
        raise typer.BadParameter("one of them is required",
                                 param_hint="'--vip-subnet-id' / '--vip-network-id' / "
                                            "'--vip-port-id'")
    api = call.api
    call.create(LOADBALANCER, compact(
        name=name, description=description, vip_address=vip_address,
        vip_subnet_id=find_id(api, SUBNET, vip_subnet_id),
        vip_network_id=find_id(api, NETWORK, vip_network_id), vip_port_id=vip_port_id,
        vip_qos_policy_id=vip_qos_policy_id, provider=provider,
        flavor_id=find_id(api, FLAVOR, flavor), availability_zone=availability_zone,
        project_id=project, admin_state_up=enable, tags=tag))


@lister(app, LOADBALANCER)
def list_(api: ApiClient,
          name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
          project: Annotated[str | None, typer.Option("--project", help="Only this project.")]
          = None,
          provisioning_status: Annotated[Provisioning | None, typer.Option(
              "--provisioning-status", case_sensitive=False)] = None,
          operating_status: Annotated[Operating | None, typer.Option(
              "--operating-status", case_sensitive=False)] = None,
          vip_address: Annotated[str | None, typer.Option("--vip-address")] = None,
          provider: Annotated[str | None, typer.Option("--provider")] = None,
          enable: EnabledFilter = None) -> dict[str, Any]:
    """List load balancers."""
    return {"name": name, "project_id": project, "provisioning_status": provisioning_status,
            "operating_status": operating_status, "vip_address": vip_address,
            "provider": provider, "admin_state_up": enable}


add_show(app, LOADBALANCER, "Show a load balancer.")


@command(app, "set", wait=True)
def set_(call: Call, loadbalancer: LoadBalancerArg, name: Name = None,
         description: Description = None, vip_qos_policy_id: VipQos = None,
         enable: Enable = None, tag: Tags = None, no_tag: NoTag = False) -> None:
    """Update a load balancer."""
    changes = compact(name=name, description=description, vip_qos_policy_id=vip_qos_policy_id,
                      admin_state_up=enable)
    call.update(LOADBALANCER, find(call.api, LOADBALANCER, loadbalancer), changes, tag, no_tag)


@command(app, "delete", output=False, wait=True)
def delete(call: Call, loadbalancer: LoadBalancerArg,
           cascade: Annotated[bool, typer.Option(
               "--cascade", help="Delete its listeners, pools and everything below too.")]
           = False) -> None:
    """Delete a load balancer (--wait: until it is gone)."""
    lb_id = find(call.api, LOADBALANCER, loadbalancer)["id"]
    call.api.delete(LOADBALANCER.item_path(lb_id), {"cascade": "True"} if cascade else None)
    call.settle(lb_id, gone=True)


@app.command("status")
def status(loadbalancer: LoadBalancerArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
           token: Token = None, fmt: Format = "table") -> None:
    """Show the status tree of a load balancer and everything below it."""
    with connect(endpoint, token) as api:
        lb_id = find(api, LOADBALANCER, loadbalancer)["id"]
        output.status_tree(api.get(f"{LOADBALANCER.item_path(lb_id)}/status"), fmt)


add_stats(app, LOADBALANCER, "Show the traffic statistics of a load balancer.")


@command(app, "failover", output=False, wait=True)
def failover(call: Call, loadbalancer: LoadBalancerArg) -> None:
    """Fail a load balancer over (rebuild its data plane)."""
    lb_id = find(call.api, LOADBALANCER, loadbalancer)["id"]
    call.api.put(f"{LOADBALANCER.item_path(lb_id)}/failover")
    call.settle(lb_id)


@app.command("agent")
def agent(loadbalancer: LoadBalancerArg, endpoint: Endpoint = DEFAULT_ENDPOINT,
          token: Token = None, fmt: Format = "table") -> None:
    """Show the agent (network node) a load balancer runs on (admin)."""
    with connect(endpoint, token) as api:
        lb_id = find(api, LOADBALANCER, loadbalancer)["id"]
        hosting = api.get(f"/v2.0/lbaas/loadbalancers/{lb_id}/loadbalancer-hosting-agent")
        found = hosting.get("agent")
        if found is None:
            output.error(f"load balancer {lb_id} is not placed on any agent")
            raise typer.Exit(1)
        output.show(found, fmt, AGENT_COLUMNS)


AGENT_COLUMNS = ("id", "host", "alive", "admin_state_up", "availability_zone",
                 "heartbeat_timestamp")


@app.command("agents")
def agents(endpoint: Endpoint = DEFAULT_ENDPOINT, token: Token = None,
           fmt: Format = "table") -> None:
    """List the agents (network nodes) with how many load balancers each runs (admin)."""
    with connect(endpoint, token) as api:
        found = api.get("/v2.0/agents")["agents"]
        for item in found:
            item["load_balancers"] = item["configurations"].get("load_balancers", 0)
        output.show_list(found, (*AGENT_COLUMNS[:5], "load_balancers"), fmt)
