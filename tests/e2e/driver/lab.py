"""The namespace driver's lab: trees of one HTTP listener over WEB01/WEB02, and fixtures for a
driver on a fresh state path (undeploys its load balancer after the test) and the lab.

Used by the tests of this directory and the fixtures of its conftest.py.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from oslo_config import cfg

from lbaas.config import load_config
from lbaas.core.tree import (
    HealthMonitorNode,
    ListenerNode,
    LoadBalancerTree,
    MemberNode,
    PoolNode,
    SubnetNode,
)
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from lbaas.drivers.interface import vip_plug
from tests.e2e.netns_haproxy import Net, web_lab
from tests.netlab import Host, Lab, link_names

SUBNET = "10.232.0"
VIP = f"{SUBNET}.100"
WEB01, WEB02 = "You've reached WEB01", "You've reached WEB02"
LISTENER_ID, POOL_ID = "listener-1", "pool-1"


# --- trees --------------------------------------------------------------------------------------


def member(number: int, **overrides: Any) -> MemberNode:
    fields: dict[str, Any] = {
        "id": f"member-{number}",
        "address": f"{SUBNET}.{10 + number}",
        "protocol_port": 80,
    }
    return MemberNode(**(fields | overrides))


def make_tree(lb_id: str, members: list[MemberNode], *, protocol: str = "HTTP",
              pool: dict[str, Any] | None = None, monitor: dict[str, Any] | None = None,
              **overrides: Any) -> LoadBalancerTree:
    """One ``protocol`` listener on the VIP, round robin over ``members`` with fast TCP checks;
    ``pool`` and ``monitor``: fields of the pool and its monitor to override."""
    checks = HealthMonitorNode(**{"id": "hm-1", "type": "TCP", "delay": 1, "timeout": 1,
                                  "max_retries": 1, "max_retries_down": 2} | (monitor or {}))
    pool_node = PoolNode(**{"id": POOL_ID, "protocol": protocol, "lb_algorithm": "ROUND_ROBIN",
                            "healthmonitor": checks, "members": members} | (pool or {}))
    listener = ListenerNode(
        id=LISTENER_ID, protocol=protocol, protocol_port=80, default_pool_id=POOL_ID
    )
    fields: dict[str, Any] = {
        "id": lb_id,
        "project_id": "project-1",
        "vip_address": VIP,
        "vip_network_id": "network-1",
        "vip_subnet": SubnetNode(
            id="subnet-1", network_id="network-1", cidr=f"{SUBNET}.0/24", gateway_ip=f"{SUBNET}.1"
        ),
        "provisioning_status": "PENDING_CREATE",
        "listeners": [listener],
        "pools": [pool_node],
    }
    return LoadBalancerTree(**(fields | overrides))


# --- what the fixtures of the test modules make --------------------------------------------------


def lab_net() -> contextlib.AbstractContextManager[Net]:
    """The lab: bridge, WEB01 at .11, WEB02 at .12 and a client at .50 of SUBNET."""
    return web_lab(lambda host: f"{SUBNET}.{host}/24")


def new_lb_id() -> str:
    return f"{Lab().prefix}{secrets.token_hex(3)}-drv"


@contextlib.contextmanager
def driver_for(lb_id: str) -> Iterator[HaproxyNamespaceDriver]:
    """A driver on a fresh (short: AF_UNIX paths) state_path; ``lb_id`` is undeployed after."""
    state_path = Path(tempfile.mkdtemp(prefix="lbt"))
    driver = HaproxyNamespaceDriver(driver_conf(state_path))
    try:
        yield driver
    finally:
        try:
            driver.undeploy(lb_id)
            assert lb_id not in driver.deployed_ids()
            assert vip_plug.outer_ifname(lb_id) not in link_names()
        finally:
            shutil.rmtree(state_path, ignore_errors=True)


def driver_conf(state_path: Path) -> cfg.ConfigOpts:
    """The agent's options with ``state_path``: another driver on it is the same host's agent
    after a restart."""
    return load_config(overrides={"DEFAULT": {"state_path": str(state_path)}})


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def bodies(client: Host, count: int) -> list[str]:
    return [client.http_get(VIP, timeout=5.0) for _ in range(count)]


def member_health(driver: HaproxyNamespaceDriver, tree: LoadBalancerTree) -> dict[str, str]:
    members: dict[str, str] = driver.collect(tree)["members"]
    return members
