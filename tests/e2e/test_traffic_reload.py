"""Changes are applied by a reload that keeps serving: new connections made while the
configuration changes never fail, and requests in flight finish."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.e2e.stack import Stack
from tests.e2e.traffic import create_lb, member, members_by_name, update
from tests.e2e.traffic_backends import backend
from tests.e2e.traffic_clients import fetch, in_background


def test_reload_keeps_serving_during_changes(stack: Stack) -> None:
    backend(stack, "b1", 11)
    backend(stack, "b2", 12)
    client = stack.client()
    lb = create_lb(stack, {"listeners": [{
        "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {"name": "web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                         "members": [member("b1", 11), member("b2", 12)]}}]})
    vip, pool_id = lb["vip_address"], lb["pools"][0]["id"]
    ids = members_by_name(stack, pool_id)
    stop = threading.Event()

    def hammer() -> dict[str, Any]:
        outcome: dict[str, Any] = {"ok": 0, "errors": []}

        def loop() -> None:
            while not stop.is_set():
                try:
                    reply = fetch(vip, 80, timeout=5)
                    if reply.status == 200:
                        outcome["ok"] += 1
                    else:
                        outcome["errors"].append(reply.status)
                except OSError as exc:
                    outcome["errors"].append(repr(exc))
                time.sleep(0.005)

        client.call(loop)
        return outcome

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
