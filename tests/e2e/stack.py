"""An end-to-end stack on this machine: the API server and an agent in one process (in-process
messaging, SQLite), a lab bridge mapped to a registered network, backends and a client in their
own namespaces. Teardown deletes every load balancer through the API, then makes sure no
``qlbaas-`` namespace or haproxy of this stack survives, even when the test failed."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lbaas.agent.service import AgentService
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from lbaas.rpc.transport import make_transport
from tests.functional.harness import Api, build_api, close_api, wait_for
from tests.netlab import Host, Lab, stop_process

SUBNET = "10.241.0.0/24"
GATEWAY = "10.241.0.1"
# VIPs come from .150-.199; backends and clients use other addresses (tests may also pick
# fixed VIPs below .150).
VIP_POOL = ("10.241.0.150", "10.241.0.199")


@dataclass
class Stack:
    api: Api
    lab: Lab
    bridge: str
    agent: AgentService
    conf: Any
    hosts: dict[str, Host] = field(default_factory=dict)
    servers: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    lb_ids: list[str] = field(default_factory=list)

    def backend(self, name: str, last_octet: int, body: str | None = None) -> Host:
        host = self.lab.host(name, self.bridge, f"10.241.0.{last_octet}/24")
        self.hosts[name] = host
        self.start_server(name, body or f"You've reached {name.upper()}")
        return host

    def start_server(self, name: str, body: str) -> None:
        self.servers[name] = self.hosts[name].http_server(body)

    def stop_server(self, name: str) -> None:
        stop_process(self.servers.pop(name))

    def client(self, name: str = "cl", last_octet: int = 200) -> Host:
        host = self.lab.host(name, self.bridge, f"10.241.0.{last_octet}/24")
        self.hosts[name] = host
        return host

    def create_lb(self, body: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        """POST a load balancer (tree) and wait until it is ACTIVE."""
        body = {"loadbalancer": {"vip_subnet_id": self.api.subnet_id, **body}}
        r = self.api.member.post("/loadbalancers", body)
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]
        self.lb_ids.append(lb["id"])
        return self.wait_lb(lb["id"], timeout)

    def wait_lb(self, lb_id: str, timeout: float = 60) -> dict[str, Any]:
        lb: dict[str, Any] = wait_for(
            lambda: self.api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"],
            lambda o: o["provisioning_status"] in ("ACTIVE", "ERROR"), timeout)
        return lb

    def member_status(self, pool_id: str, member_id: str) -> str:
        return str(self.api.member.get(f"/pools/{pool_id}/members/{member_id}")
                   .json()["member"]["operating_status"])


def answers(client: Host, vip: str, count: int, port: int = 80) -> list[str]:
    """Bodies of ``count`` fresh connections to the VIP."""
    return [client.http_get(vip, port, timeout=5).strip() for _ in range(count)]


def eventually(check: Callable[[], bool], timeout: float = 30, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # the condition may fail while things converge
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last error: {last_error})")


@contextmanager
def running_stack(tmp_path: Any, overrides: dict[str, dict[str, Any]] | None = None
                  ) -> Iterator[Stack]:
    lab = Lab()
    try:
        bridge = lab.bridge("br")
        groups: dict[str, dict[str, Any]] = {
            "DEFAULT": {"host": f"agent-{lab.tag}"},
            "api": {"default_provider": "haproxy"},
            "agent": {"bridge_mappings": [f"e2e-net:{bridge}"], "report_interval": 0.5,
                      "stats_interval": 0.5, "resync_interval": 5},
            "housekeeping": {"interval": 2},
        }
        for group, values in (overrides or {}).items():
            groups.setdefault(group, {}).update(values)
        api = build_api(str(tmp_path), overrides=groups, network=("e2e-net", SUBNET, GATEWAY),
                        allocation_pool=VIP_POOL)
        conf = api.services.conf
        agent = AgentService(conf, api.extra["transport"])
        stack = Stack(api=api, lab=lab, bridge=bridge, agent=agent, conf=conf)
        agent.start()
        try:
            wait_for(lambda: api.admin.get("/v2.0/agents").json()["agents"],
                     lambda agents: any(a["alive"] for a in agents), 30)
            yield stack
        finally:
            _teardown(stack)
    finally:
        lab.close()


def _teardown(stack: Stack) -> None:
    api = stack.api
    try:
        for lb in api.admin.get("/loadbalancers").json()["loadbalancers"]:
            api.admin.delete(f"/loadbalancers/{lb['id']}?cascade=true")
        wait_for(lambda: api.admin.get("/loadbalancers").json()["loadbalancers"],
                 lambda lbs: not lbs, 30)
    finally:
        stack.agent.stop()
        driver = HaproxyNamespaceDriver(stack.conf)
        for lb_id in set(stack.lb_ids) | driver.deployed_ids():
            driver.undeploy(lb_id)
        close_api(api)


__all__ = ["Stack", "answers", "eventually", "make_transport", "running_stack"]
