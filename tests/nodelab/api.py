"""A small HTTP client of one lab server for tests and benchmarks (httpx, one token): Octavia
paths under ``/v2/lbaas``, ``/v2.0/...`` as given; registering the provider network, building a
load balancer tree (HTTP listener, round-robin pool over backends, HTTP monitor) and waiting for
it, the agents and which agent hosts a load balancer.

Used by :class:`tests.nodelab.lab.NodeLab` (``lab.api(...)``) and the tests on it.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.api_client import ApiClient
from tests.nodelab.procs import wait_until


class ApiError(AssertionError):
    """A request the lab expected to succeed did not."""


class LabApi(ApiClient):
    """The API of one server as the holder of ``token``."""

    def ok(self, response: httpx.Response) -> Any:
        """The JSON of a 2xx answer (ApiError with the body otherwise)."""
        if not response.is_success:
            raise ApiError(f"{response.request.method} {response.request.url}: "
                           f"{response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    # -- networks ----------------------------------------------------------------------------

    def register_network(self, name: str, cidr: str, gateway: str,
                         pool: tuple[str, str]) -> tuple[str, str]:
        """Register network ``name`` with one subnet (VIPs from ``pool``); returns (network id,
        subnet id). Admin only."""
        net = self.ok(self.post("/v2.0/networks", {"network": {"name": name}}))["network"]
        sub = self.ok(self.post("/v2.0/subnets", {"subnet": {
            "network_id": net["id"], "name": f"{name}-subnet", "cidr": cidr,
            "gateway_ip": gateway,
            "allocation_pools": [{"start": pool[0], "end": pool[1]}]}}))["subnet"]
        return str(net["id"]), str(sub["id"])

    # -- load balancers ----------------------------------------------------------------------

    def lb(self, lb_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.ok(self.get(f"/loadbalancers/{lb_id}"))["loadbalancer"]
        return found

    def create_lb(self, body: dict[str, Any], wait: bool = True,
                  timeout: float = 90.0) -> dict[str, Any]:
        """POST ``{"loadbalancer": body}``; with ``wait``, until it is ACTIVE."""
        lb: dict[str, Any] = self.ok(self.post("/loadbalancers",
                                               {"loadbalancer": body}))["loadbalancer"]
        return self.wait_active(lb["id"], timeout) if wait else lb

    def wait_active(self, lb_id: str, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until the load balancer is ACTIVE (ApiError as soon as it is in ERROR)."""

        def active() -> dict[str, Any] | None:
            lb = self.lb(lb_id)
            if lb["provisioning_status"] == "ERROR":
                raise ApiError(f"load balancer {lb_id} went to ERROR")
            return lb if lb["provisioning_status"] == "ACTIVE" else None

        deadline = time.monotonic() + timeout
        while True:
            try:
                found = active()
            except httpx.HTTPError:
                found = None
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise ApiError(f"load balancer {lb_id} not ACTIVE within {timeout}s: "
                               f"{self.lb(lb_id)['provisioning_status']}")
            time.sleep(0.1)

    def delete_lb(self, lb_id: str, wait: bool = True, timeout: float = 90.0) -> None:
        """Delete a load balancer with everything under it; with ``wait``, until it is gone."""
        self.ok(self.delete(f"/loadbalancers/{lb_id}?cascade=true"))
        if wait:
            wait_until(lambda: self.get(f"/loadbalancers/{lb_id}").status_code == 404, timeout,
                       f"load balancer {lb_id} to be deleted", interval=0.2)

    # -- agents ------------------------------------------------------------------------------

    def agents(self) -> list[dict[str, Any]]:
        """``GET /v2.0/agents`` (admin)."""
        found: list[dict[str, Any]] = self.ok(self.get("/v2.0/agents"))["agents"]
        return found

    def agent(self, host: str) -> dict[str, Any] | None:
        """The agent reporting as ``host`` (None when the server does not know it)."""
        return next((a for a in self.agents() if a["host"] == host), None)

    def hosting_agent(self, lb_id: str) -> dict[str, Any] | None:
        """The agent hosting load balancer ``lb_id`` (None while unscheduled)."""
        found: dict[str, Any] | None = self.ok(
            self.get(f"/v2.0/lbaas/loadbalancers/{lb_id}/loadbalancer-hosting-agent"))["agent"]
        return found

    def agent_loadbalancers(self, agent_id: str) -> list[dict[str, Any]]:
        """The load balancers agent ``agent_id`` hosts."""
        found: list[dict[str, Any]] = self.ok(
            self.get(f"/v2.0/agents/{agent_id}/agent-loadbalancers"))["loadbalancers"]
        return found


def lb_tree(name: str, subnet_id: str, members: list[tuple[str, str]], port: int = 80,
            monitor: bool = True) -> dict[str, Any]:
    """The body of a load balancer with one HTTP listener on ``port`` and a round-robin pool over
    ``members`` (name, address) on port 80, with an HTTP health monitor unless ``monitor`` is
    False."""
    pool: dict[str, Any] = {
        "name": f"{name}-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "members": [{"name": member, "address": address, "protocol_port": 80}
                    for member, address in members]}
    if monitor:
        pool["healthmonitor"] = {"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 2,
                                 "max_retries_down": 2, "url_path": "/"}
    return {"name": name, "vip_subnet_id": subnet_id, "listeners": [{
        "name": f"{name}-http", "protocol": "HTTP", "protocol_port": port,
        "default_pool": pool}]}
