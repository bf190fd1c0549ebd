"""Changes are applied without failing a request: by a reload that keeps serving, or, for
members, through the running haproxy's runtime API with no reload at all. New connections made
while the configuration changes never fail, and requests in flight finish."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from tests.e2e.stack import Stack, eventually
from tests.e2e.traffic import member, members_by_name, two_backend_lb, update
from tests.e2e.traffic_backends import backend
from tests.e2e.traffic_clients import fetch, in_background, names
from tests.netlab import Host


def _hammer(client: Host, vip: str, stop: threading.Event) -> Callable[[], dict[str, Any]]:
    """A client loop of new connections until ``stop``: counts answers by backend, and errors."""
    def hammer() -> dict[str, Any]:
        outcome: dict[str, Any] = {"ok": 0, "errors": [], "names": Counter()}

        def loop() -> None:
            while not stop.is_set():
                try:
                    reply = fetch(vip, 80, timeout=5)
                    if reply.status == 200:
                        outcome["ok"] += 1
                        outcome["names"][reply.name] += 1
                    else:
                        outcome["errors"].append(reply.status)
                except OSError as exc:
                    outcome["errors"].append(repr(exc))
                time.sleep(0.005)

        client.call(loop)
        return outcome
    return hammer


def test_reload_keeps_serving_during_changes(stack: Stack) -> None:
    client, lb = two_backend_lb(stack)
    vip, pool_id = lb["vip_address"], lb["pools"][0]["id"]
    ids = members_by_name(stack, pool_id)
    stop = threading.Event()
    hammer = _hammer(client, vip, stop)

    with in_background(lambda: client.call(fetch, vip, 80, "/slow?s=4", timeout=20)) as slow, \
            in_background(hammer) as load:
        for weight in (2, 3, 1, 5, 1):
            update(stack, lb["id"], f"/pools/{pool_id}/members/{ids['b1']}", "member",
                   {"weight": weight})
        update(stack, lb["id"], f"/pools/{pool_id}", "pool",
               {"lb_algorithm": "LEAST_CONNECTIONS"})
        stop.set()
    assert "error" not in load, load.get("error")
    assert load["result"]["errors"] == [], load["result"]
    assert load["result"]["ok"] > 20
    assert "error" not in slow and slow["result"].status == 200, slow


def test_member_changes_under_load_need_no_reload(stack: Stack) -> None:
    """Through the API: members added, reweighted, disabled and removed while a client opens
    connections and a slow request is in flight. Not one fails, the same haproxy worker serves
    throughout (``show proc``: no reload), and traffic follows every change."""
    client, lb = two_backend_lb(stack)
    backend(stack, "b3", 13)
    vip, pool_id = lb["vip_address"], lb["pools"][0]["id"]
    ids = members_by_name(stack, pool_id)
    driver = stack.agent.manager.driver
    assert isinstance(driver, HaproxyNamespaceDriver)
    haproxy = driver.process(lb["id"])
    before = haproxy.proc_info()
    stop = threading.Event()
    members = f"/pools/{pool_id}/members"

    with in_background(lambda: client.call(fetch, vip, 80, "/slow?s=4", timeout=20)) as slow, \
            in_background(_hammer(client, vip, stop)) as load:
        created = stack.api.member.post(members, {"member": member("b3", 13)})
        assert created.status_code == 201, created.text
        stack.wait_lb(lb["id"])
        b3 = created.json()["member"]["id"]
        eventually(lambda: "b3" in names(client, vip, 6))
        for weight in (3, 0, 1):
            update(stack, lb["id"], f"{members}/{ids['b1']}", "member", {"weight": weight})
        update(stack, lb["id"], f"{members}/{b3}", "member", {"admin_state_up": False})
        assert "b3" not in names(client, vip, 6)
        deleted = stack.api.member.delete(f"{members}/{ids['b2']}")
        assert deleted.status_code == 204, deleted.text
        stack.wait_lb(lb["id"])
        assert set(names(client, vip, 6)) == {"b1"}
        stop.set()
    assert "error" not in load, load.get("error")
    assert load["result"]["errors"] == [], load["result"]
    assert load["result"]["names"]["b3"] > 0
    assert "error" not in slow and slow["result"].status == 200, slow
    assert haproxy.proc_info() == before
