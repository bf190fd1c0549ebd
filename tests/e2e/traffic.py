"""API shortcuts shared by the ``test_traffic_*`` end-to-end tests: load balancers on chosen VIPs,
updates waited ACTIVE, member bodies and statuses, a fast HTTP monitor.

Not a test module. Every feature is shown by traffic: the backends that tell what they saw are
in :mod:`tests.e2e.traffic_backends`, the clients that run inside a lab namespace in
:mod:`tests.e2e.traffic_clients`.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.stack import Stack, eventually
from tests.e2e.traffic_backends import backend
from tests.netlab import Host

# --- API shortcuts --------------------------------------------------------------------------

VIP_OCTETS = (100, 101)
"""The VIPs of these tests are chosen, never allocated: an allocated VIP is a random address of
the subnet and could be one of the lab hosts' (a client connecting to itself is refused)."""


def create_lb(stack: Stack, body: dict[str, Any], vip_octet: int = VIP_OCTETS[0]
              ) -> dict[str, Any]:
    """:meth:`Stack.create_lb` with the VIP ``10.241.0.<vip_octet>``; waits until ACTIVE."""
    lb = stack.create_lb({"vip_address": f"10.241.0.{vip_octet}", **body})
    assert lb["provisioning_status"] == "ACTIVE", lb
    assert lb["vip_address"] == f"10.241.0.{vip_octet}"
    return lb



def members_by_name(stack: Stack, pool_id: str) -> dict[str, str]:
    return {m["name"]: m["id"] for m in
            stack.api.member.get(f"/pools/{pool_id}/members").json()["members"]}


def pool_ids(stack: Stack, lb: dict[str, Any]) -> dict[str, str]:
    """Pool name -> id of the load balancer's pools."""
    out = {}
    for ref in lb["pools"]:
        pool = stack.api.member.get(f"/pools/{ref['id']}").json()["pool"]
        out[pool["name"]] = pool["id"]
    return out


def listener_ids(stack: Stack, lb: dict[str, Any]) -> dict[int, str]:
    """protocol_port -> listener id."""
    out = {}
    for ref in lb["listeners"]:
        listener = stack.api.member.get(f"/listeners/{ref['id']}").json()["listener"]
        out[int(listener["protocol_port"])] = listener["id"]
    return out


def update(stack: Stack, lb_id: str, path: str, key: str, values: dict[str, Any]) -> None:
    """PUT ``{key: values}`` to ``path`` and wait until the load balancer is ACTIVE again."""
    r = stack.api.member.put(path, {key: values})
    assert r.status_code == 200, r.text
    lb = stack.wait_lb(lb_id)
    assert lb["provisioning_status"] == "ACTIVE", lb


def wait_status(stack: Stack, pool_id: str, member_id: str, status: str,
                timeout: float = 20) -> None:
    eventually(lambda: stack.member_status(pool_id, member_id) == status, timeout)


def member(name: str, octet: int, port: int = 80, **kw: Any) -> dict[str, Any]:
    return {"name": name, "address": f"10.241.0.{octet}", "protocol_port": port, **kw}


FAST_HTTP_MONITOR = {"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 1,
                     "max_retries_down": 1, "url_path": "/healthz"}
"""Checks every second; one failure takes a member out, one success brings it back."""


def two_backend_lb(stack: Stack, **pool: Any) -> tuple[Host, dict[str, Any]]:
    """Backends b1 (.11) and b2 (.12), a client, and a load balancer whose HTTP listener on 80
    round-robins over both in pool "web" (``pool``: more of its fields); waits until ACTIVE."""
    backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    client = stack.client()
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "members": [member("b1", 11), member("b2", 12)], **pool}}]})
    return client, lb
