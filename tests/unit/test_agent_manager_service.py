"""The agent service (lbaas.agent.service) wired to a server over oslo.messaging's in-process
transport: a started :class:`AgentService` syncs at start, serves real casts, sends stats and
heartbeats, and leaves load balancers running when it stops.

The server side is :class:`tests.unit.agent_doubles.Server` behind an RPC endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging

from lbaas.agent.service import AgentService
from lbaas.rpc.agent_api import AgentApi
from lbaas.rpc.topics import PLUGIN_TOPIC, RPC_NAMESPACE
from lbaas.rpc.transport import make_server, make_transport
from tests.unit.agent_doubles import HOST, WAIT, Device, Server, build_conf, make_tree

# --- the service over oslo.messaging's in-process transport -----------------------------------


class PluginEndpoint:
    """The server's RPC endpoint, delegating to a :class:`Server`."""

    target = messaging.Target(namespace=RPC_NAMESPACE, version="1.0")

    def __init__(self, server: Server) -> None:
        self.server = server

    def get_ready_devices(self, ctx: Any, host: str) -> list[str]:
        assert host == HOST
        return self.server.get_ready_devices()

    def get_loadbalancer(self, ctx: Any, loadbalancer_id: str) -> dict[str, Any] | None:
        return self.server.get_loadbalancer(loadbalancer_id)

    def update_status(self, ctx: Any, **kwargs: Any) -> None:
        self.server.update_status(**kwargs)

    def update_loadbalancer_stats(self, ctx: Any, loadbalancer_id: str, stats: Any) -> None:
        self.server.update_loadbalancer_stats(loadbalancer_id, stats)

    def loadbalancer_destroyed(self, ctx: Any, loadbalancer_id: str) -> None:
        self.server.loadbalancer_destroyed(loadbalancer_id)

    def report_state(self, ctx: Any, state: dict[str, Any]) -> None:
        self.server.report_state(state)


def wait_until(predicate: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_service_serves_casts_syncs_and_reports_over_rpc() -> None:
    # Read every pass: the double's members change without the event haproxy would log.
    conf = build_conf(report_interval=0.1, stats_interval=0.2, stats_idle_interval=0)
    transport = make_transport(conf)
    server, device = Server(), Device()
    server.add(make_tree("at-start"))
    plugin_server = make_server(transport, PLUGIN_TOPIC, "server", [PluginEndpoint(server)])
    plugin_server.start()
    service = AgentService(conf, transport, driver=device)
    try:
        service.start()
        assert device.prepared
        assert wait_until(lambda: ("at-start", "ACTIVE", 1, None) in server.statuses)
        assert wait_until(lambda: bool(server.reports))
        server.add(make_tree("by-cast", revision=2))
        AgentApi(transport).cast(HOST, "create_pool", "pool-1", "by-cast")
        assert wait_until(lambda: ("by-cast", "ACTIVE", 2, None) in server.statuses)
        device.members = {"m1": "ONLINE"}
        assert wait_until(lambda: any(s[1]["members"] == {"m1": "ONLINE"} for s in server.stats))
        server.trees["by-cast"]["provisioning_status"] = "PENDING_DELETE"
        AgentApi(transport).cast(HOST, "delete_loadbalancer", "by-cast", "by-cast")
        assert wait_until(lambda: server.destroyed == ["by-cast"])
        assert "by-cast" not in device.deployed
    finally:
        service.stop(timeout=WAIT)
        plugin_server.stop()
        plugin_server.wait()
        transport.cleanup()
    assert "at-start" in device.deployed  # stopping the agent leaves load balancers running
