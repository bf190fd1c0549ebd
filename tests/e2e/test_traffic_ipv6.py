"""IPv6, shown by traffic through the whole stack (API, agent, haproxy in ``qlbaas-<id>``): an
admin registers an IPv6 ULA subnet on the lab network, a load balancer gets an allocated IPv6
VIP, an HTTP listener balances two IPv6 backends, a health monitor takes a stopped IPv6 backend
out and brings it back, and the VIP answers a client that still holds the old MAC after the
agent redeploys the load balancer into a rebuilt namespace.

Backends and clients are lab hosts (namespaces of this test's own bridge) with ``fd00:241::/64``
addresses; nothing else is reached. The stack fixture deletes everything, also on failure.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from typing import Any

from lbaas.agent.service import AgentService
from lbaas.drivers.interface import vip_plug
from lbaas.drivers.interface.namespaces import iproute
from tests.e2e.stack import Stack, eventually
from tests.e2e.traffic import FAST_HTTP_MONITOR, members_by_name, pool_ids, wait_status
from tests.e2e.traffic_backends import Backend
from tests.e2e.traffic_clients import get, is_refused, names
from tests.netlab import Host, stop_process

V6_CIDR = "fd00:241::/64"
V6_GATEWAY = "fd00:241::1"


def v6_subnet(stack: Stack) -> str:
    """Register the IPv6 subnet on the lab network (mapped to the agent's bridge); its id."""
    r = stack.api.admin.post("/v2.0/subnets", {"subnet": {
        "network_id": stack.api.network_id, "name": "e2e-v6", "cidr": V6_CIDR,
        "ip_version": 6, "gateway_ip": V6_GATEWAY}})
    assert r.status_code == 201, r.text
    return str(r.json()["subnet"]["id"])


def v6_backend(stack: Stack, name: str, suffix: int) -> Backend:
    """A lab host at ``fd00:241::<suffix>`` serving the traffic backend on port 80."""
    host = stack.lab.host(name, stack.bridge, f"fd00:241::{suffix}/64")
    stack.hosts[name] = host
    return Backend(name, host).serve(80)


def v6_client(stack: Stack, name: str = "cl", suffix: int = 200) -> Host:
    host = stack.lab.host(name, stack.bridge, f"fd00:241::{suffix}/64")
    stack.hosts[name] = host
    return host


def v6_member(name: str, suffix: int, **kw: Any) -> dict[str, Any]:
    return {"name": name, "address": f"fd00:241::{suffix}", "protocol_port": 80, **kw}


def web_lb(stack: Stack, subnet_id: str, **listener: Any) -> dict[str, Any]:
    """An IPv6 load balancer (allocated VIP) with one HTTP listener over b1 and b2, checked by
    a fast HTTP monitor; waits until ACTIVE."""
    lb = stack.create_lb({"vip_subnet_id": subnet_id, "name": "v6", "listeners": [{
        "protocol": "HTTP", "protocol_port": 80, **listener,
        "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "healthmonitor": FAST_HTTP_MONITOR,
                         "members": [v6_member("b1", 11), v6_member("b2", 12)]}}]})
    assert lb["provisioning_status"] == "ACTIVE", lb
    return lb


def test_ipv6_vip_balances_two_ipv6_backends(stack: Stack) -> None:
    subnet_id = v6_subnet(stack)
    b1, b2 = v6_backend(stack, "b1", 11), v6_backend(stack, "b2", 12)
    client = v6_client(stack)
    outsider = v6_client(stack, "o6", 201)  # not the allowed client
    lb = web_lb(stack, subnet_id, allowed_cidrs=["fd00:241::200/128"])
    vip = lb["vip_address"]
    assert ipaddress.ip_address(vip) in ipaddress.ip_network(V6_CIDR)
    assert lb["vip_subnet_id"] == subnet_id

    seen = names(client, vip, 6)
    assert sorted(seen) == ["b1"] * 3 + ["b2"] * 3
    reply = get(client, vip)
    assert reply.json()["peer"] == vip  # haproxy connects from the VIP, over IPv6
    assert reply.json()["headers"]["host"] == f"[{vip}]"
    requests = [e for b in (b1, b2) for e in b.log() if e["path"] == "/"]
    assert len(requests) == 7 and {e["peer"] for e in requests} == {vip}
    assert is_refused(outsider, vip)  # allowed_cidrs, IPv6


def test_monitor_takes_a_stopped_ipv6_backend_out_and_back(stack: Stack) -> None:
    subnet_id = v6_subnet(stack)
    v6_backend(stack, "b1", 11)
    b2 = v6_backend(stack, "b2", 12)
    client = v6_client(stack)
    lb = web_lb(stack, subnet_id)
    vip = lb["vip_address"]
    pool_id = pool_ids(stack, lb)["web"]
    members = members_by_name(stack, pool_id)
    wait_status(stack, pool_id, members["b1"], "ONLINE")
    wait_status(stack, pool_id, members["b2"], "ONLINE")

    stop_process(b2.servers.pop(80))
    wait_status(stack, pool_id, members["b2"], "ERROR")
    assert set(names(client, vip, 4)) == {"b1"}

    b2.serve(80)
    wait_status(stack, pool_id, members["b2"], "ONLINE")
    assert set(names(client, vip, 4)) == {"b1", "b2"}


def _neighbour_mac(host: Host, address: str) -> str | None:
    with iproute(host.namespace) as ipr:
        for entry in ipr.neigh("dump", family=socket.AF_INET6):
            if entry.get_attr("NDA_DST") == address:
                return str(entry.get_attr("NDA_LLADDR"))
    return None


def _vip_mac(lb_id: str) -> str:
    with iproute(vip_plug.namespace_name(lb_id)) as ipr:
        return str(ipr.link("get", ifname=vip_plug.VIP_IFNAME)[0].get_attr("IFLA_ADDRESS"))


def test_ipv6_vip_answers_after_agent_redeploy_into_a_new_namespace(stack: Stack) -> None:
    """The agent is stopped, the namespace deleted by hand (haproxy runs on in it, nameless),
    and a new agent starts: its first sync rebuilds the namespace (a new veth: a new MAC) and
    restarts haproxy. The client's neighbour cache still holds the old MAC: the unsolicited
    neighbour advertisement is what points it at the new one, before it sends anything."""
    subnet_id = v6_subnet(stack)
    v6_backend(stack, "b1", 11)
    v6_backend(stack, "b2", 12)
    client = v6_client(stack)
    lb = web_lb(stack, subnet_id)
    vip = lb["vip_address"]
    assert set(names(client, vip, 4)) == {"b1", "b2"}
    old_mac = _vip_mac(lb["id"])
    assert _neighbour_mac(client, vip) == old_mac

    stack.agent.stop()
    subprocess.run(["ip", "netns", "delete", vip_plug.namespace_name(lb["id"])], check=True)
    stack.agent = AgentService(stack.conf, stack.api.extra["transport"])
    stack.agent.start()

    def rebuilt() -> bool:
        return (vip_plug.namespace_name(lb["id"]) in
                [f"qlbaas-{i}" for i in vip_plug.list_lb_namespaces()]
                and _vip_mac(lb["id"]) != old_mac)

    eventually(rebuilt, 30)
    new_mac = _vip_mac(lb["id"])
    eventually(lambda: _neighbour_mac(client, vip) == new_mac, 10)
    eventually(lambda: set(names(client, vip, 4)) == {"b1", "b2"}, 30)
    assert stack.wait_lb(lb["id"])["provisioning_status"] == "ACTIVE"


# --- mixed families: the load balancer's source address of the other family -----------------


def test_ipv4_vip_with_ipv6_members(stack: Stack) -> None:
    """On the dual-stack lab network an IPv4 load balancer also holds an IPv6 source address,
    from which haproxy reaches IPv6 members; IPv4 clients see nothing of it."""
    subnet_id = v6_subnet(stack)
    b1, b2 = v6_backend(stack, "b1", 11), v6_backend(stack, "b2", 12)
    client = stack.client()  # 10.241.0.200
    lb = web_lb(stack, stack.api.subnet_id)
    vip = lb["vip_address"]
    assert ipaddress.ip_address(vip).version == 4
    source = _source_address(stack, lb["id"])
    assert ipaddress.ip_address(source) in ipaddress.ip_network(V6_CIDR)
    assert _source_subnet(stack, lb["id"]) == subnet_id

    assert sorted(names(client, vip, 4)) == ["b1", "b1", "b2", "b2"]
    peers = {e["peer"] for b in (b1, b2) for e in b.log() if e["path"] == "/"}
    assert peers == {source}
    pool_id = pool_ids(stack, lb)["web"]
    for member_id in members_by_name(stack, pool_id).values():
        wait_status(stack, pool_id, member_id, "ONLINE")  # checks over IPv6 too


def test_ipv6_vip_with_ipv4_members(stack: Stack) -> None:
    subnet_id = v6_subnet(stack)
    for name, octet in (("b1", 11), ("b2", 12)):
        host = stack.lab.host(name, stack.bridge, f"10.241.0.{octet}/24")
        stack.hosts[name] = host
        Backend(name, host).serve(80)
    client = v6_client(stack)
    lb = stack.create_lb({"vip_subnet_id": subnet_id, "listeners": [{
        "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "healthmonitor": FAST_HTTP_MONITOR, "members": [
                             {"name": "b1", "address": "10.241.0.11", "protocol_port": 80},
                             {"name": "b2", "address": "10.241.0.12", "protocol_port": 80}]}}]})
    assert lb["provisioning_status"] == "ACTIVE", lb
    vip = lb["vip_address"]
    assert ipaddress.ip_address(vip).version == 6
    source = _source_address(stack, lb["id"])
    assert ipaddress.ip_address(source) in ipaddress.ip_network("10.241.0.0/24")

    replies = [get(client, vip) for _ in range(4)]
    assert sorted(r.name for r in replies) == ["b1", "b1", "b2", "b2"]
    assert {r.json()["peer"] for r in replies} == {source}


def _ports(stack: Stack, lb_id: str) -> dict[str, dict[str, str]]:
    """device_owner -> fixed IP of the ports of load balancer ``lb_id``."""
    return {p["device_owner"]: p["fixed_ips"][0]
            for p in stack.api.admin.get("/v2.0/ports").json()["ports"]
            if p["device_id"] == lb_id}


def _source_address(stack: Stack, lb_id: str) -> str:
    return _ports(stack, lb_id)["lbaas:source"]["ip_address"]


def _source_subnet(stack: Stack, lb_id: str) -> str:
    return _ports(stack, lb_id)["lbaas:source"]["subnet_id"]
