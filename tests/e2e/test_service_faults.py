"""End to end on three network nodes (``tests/nodelab``): the shared services fail under traffic
and API writes, and nothing is lost.

* **RabbitMQ restarted** while a client keeps connecting through a VIP and the API changes a
  member and creates a load balancer: no request through the VIP fails (the data plane does
  not need the broker), the API answers during the restart, agents and servers reconnect, and
  every change is applied (traffic shows the member change; the new load balancer serves); no
  load balancer is left PENDING_*.
* **PostgreSQL stopped** for a few seconds: the API answers 503 with Octavia's fault body
  meanwhile, never another 5xx; then it recovers by itself and writes work again.
* **The server holding the housekeeping lease killed**: the other server serves the API and
  takes the lease over: a node lost afterwards still has its load balancers rebuilt elsewhere.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.netlab import skip_unless_root_and_tools
from tests.nodelab import LabApi, NodeLab, body_of, cgroups, rabbitmq
from tests.nodelab.procs import Repeating, wait_until

pytestmark = [
    pytest.mark.e2e,
    skip_unless_root_and_tools("ip", "haproxy", "nsenter", "unshare", "epmd"),
    pytest.mark.skipif(not rabbitmq.installed(), reason="rabbitmq-server is not installed"),
    pytest.mark.skipif(not cgroups.available(), reason="no cgroup2 hierarchy"),
]

PENDING = {"PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE"}


@pytest.fixture(scope="module")
def lab() -> Iterator[NodeLab]:
    with NodeLab(nodes=3, servers=2) as built:
        yield built


class Traffic(Repeating):
    """A client that connects through a VIP again and again on a thread, counting answers by
    body and failures."""

    def __init__(self, lab: NodeLab, vip: str) -> None:
        super().__init__(0.02, "traffic")
        self.lab, self.vip = lab, vip
        self.bodies: Counter[str] = Counter()
        self.failures: list[str] = []

    def step(self) -> None:
        try:
            self.bodies[self.lab.answers(self.vip, 1)[0]] += 1
        except Exception as exc:
            self.failures.append(repr(exc))


def pending(api: LabApi) -> list[str]:
    return [f"{lb['id']}:{lb['provisioning_status']}"
            for lb in api.get("/loadbalancers").json()["loadbalancers"]
            if lb["provisioning_status"] in PENDING]


def member_named(api: LabApi, pool_id: str, name: str) -> dict[str, Any]:
    members = api.ok(api.get(f"/pools/{pool_id}/members"))["members"]
    return next(m for m in members if m["name"] == name)


def test_rabbitmq_restart_under_traffic_and_writes(lab: NodeLab) -> None:
    lb = lab.create_lb("broker")
    vip = lb["vip_address"]
    lab.wait_serving(vip)
    api = lab.api(1, "member")
    pool_id = lb["pools"][0]["id"]
    web02 = member_named(api, pool_id, "web02")
    with Traffic(lab, vip) as traffic:
        restart = threading.Thread(target=lab.broker.restart, name="broker-restart")
        restart.start()
        time.sleep(0.5)  # the broker is going down
        changed = api.put(f"/pools/{pool_id}/members/{web02['id']}",
                          {"member": {"admin_state_up": False}})
        assert changed.status_code == 200, changed.text
        created = lab.api(2, "member").post("/loadbalancers", {"loadbalancer": {
            "name": "during-restart", "vip_subnet_id": lab.subnet_id}})
        assert created.status_code == 201, created.text
        restart.join(120)
        assert not restart.is_alive()
        wait_until(lambda: not pending(lab.api(1)), 90,
                   "every load balancer to leave PENDING_* after the broker restart")
        lab.wait_serving(vip, ("web01",), timeout=30)  # the member change was applied
    assert traffic.failures == [], traffic.failures[:5]
    assert traffic.bodies[body_of("web01")] > 0
    new_lb = api.wait_active(created.json()["loadbalancer"]["id"])
    assert new_lb["operating_status"] == "ONLINE"
    for node in lab.nodes:
        wait_until(lambda node=node: lab.agent_view(node.name)["alive"], 60,
                   f"{node.name} alive after the broker restart")
    api.put(f"/pools/{pool_id}/members/{web02['id']}", {"member": {"admin_state_up": True}})
    api.wait_active(lb["id"])
    lab.wait_serving(vip)


def test_postgres_down_is_503_with_octavia_fault_then_recovers(lab: NodeLab) -> None:
    api = lab.api(1, "member")
    codes: Counter[int] = Counter()
    faults: list[dict[str, Any]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                response = api.get("/loadbalancers")
            except Exception:
                continue
            codes[response.status_code] += 1
            if response.status_code == 503:
                faults.append(response.json())
            time.sleep(0.05)

    poller = threading.Thread(target=poll, name="pg-poll", daemon=True)
    poller.start()
    try:
        lab.restart_postgres(down_for=3.0)
        wait_until(lambda: api.get("/loadbalancers").status_code == 200, 30,
                   "the API to recover from the database restart")
    finally:
        stop.set()
        poller.join(10)
    assert codes[503] > 0, codes
    assert set(codes) <= {200, 503}, codes
    assert faults[0] == {"faultcode": "Server", "faultstring":
                         "The database is unavailable; retry the request.", "debuginfo": None}
    after = lab.create_lb("after-pg")
    assert after["provisioning_status"] == "ACTIVE"
    lab.wait_serving(after["vip_address"])


def lease_holder_server(lab: NodeLab) -> int:
    """The number of the server whose process holds the housekeeping lease."""
    engine = create_engine(lab.database_url)
    try:
        with engine.connect() as conn:
            holder = conn.execute(text(
                "SELECT holder FROM leases WHERE name = 'housekeeping'")).scalar_one()
    finally:
        engine.dispose()
    pid = int(holder.split(":")[1])
    return next(i for i in lab.servers.numbers if lab.servers.pid(i) == pid)


def test_killing_the_housekeeping_server_leaves_the_other_in_charge(lab: NodeLab) -> None:
    holder = lease_holder_server(lab)
    other = next(i for i in lab.servers.numbers if i != holder)
    lab.servers.kill(holder)
    try:
        api = lab.api(other)
        assert api.get("/loadbalancers").status_code == 200
        lb = lab.create_lb("one-server", server=other)
        lab.wait_serving(lb["vip_address"])
        node = lab.hosting_node(lb["id"])
        node.lose()
        try:
            wait_until(lambda: lab.hosting_node(lb["id"]).name != node.name, 60,
                       "the remaining server to move the lost node's load balancer")
            lab.wait_serving(lb["vip_address"], timeout=60)
            assert lease_holder_server(lab) == other
        finally:
            node.come_back()
    finally:
        lab.servers.start(holder)
    assert lab.api(holder).get("/loadbalancers").status_code == 200
