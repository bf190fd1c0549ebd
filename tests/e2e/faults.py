"""Helpers of the fault tests (``test_faults_*.py``): the lab's addresses, bounded waits, a small
Octavia API client on the admin token of ``lbaas up``, load balancer bodies, and the timings the
tests print.

The all-in-one process and the tests' environment are in :mod:`tests.e2e.faults_aio`, the load
generator in :mod:`tests.e2e.faults_load`. Not a test module. Everything here is bounded in time;
nothing waits forever.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.api_client import ApiClient
from tests.nodelab.procs import wait_until

NETWORK = "faults-net"
SUBNET = "10.243.0.0/24"
GATEWAY = "10.243.0.1"
VIP_POOL = {"start": "10.243.0.100", "end": "10.243.0.199"}
BACKEND_OCTETS = {"w1": 11, "w2": 12, "w3": 13, "w4": 14}
CLIENT_OCTET = 250

PENDING = ("PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")


def backend_address(name: str) -> str:
    return f"10.243.0.{BACKEND_OCTETS[name]}"


def body_of(name: str) -> str:
    return f"You've reached {name.upper()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def eventually(check: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.1) -> Any:
    """Call ``check`` until it returns something truthy (returned); AssertionError after
    ``timeout`` seconds, naming ``what`` and the last error or value."""
    try:
        return wait_until(check, timeout, what, interval)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


def pending_statuses(value: Any, where: str = "") -> list[str]:
    """``"<path>: <status>"`` for every PENDING_* provisioning status in a JSON tree."""
    found: list[str] = []
    if isinstance(value, dict):
        status = value.get("provisioning_status")
        if isinstance(status, str) and status.startswith("PENDING_"):
            found.append(f"{where or '/'} {value.get('id')}: {status}")
        for key, item in value.items():
            found += pending_statuses(item, f"{where}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += pending_statuses(item, f"{where}[{index}]")
    return found


def pending_in_database(state_path: Path) -> list[str]:
    """``"<table> <name>: <status>"`` for every PENDING_* row of the all-in-one's SQLite
    database (read while ``lbaas up`` is down)."""
    found: list[str] = []
    with contextlib.closing(sqlite3.connect(state_path / "lbaas.sqlite", timeout=10)) as db:
        for table in ("load_balancers", "listeners", "pools", "members", "health_monitors"):
            rows = db.execute(f"SELECT name, provisioning_status FROM {table} "
                              "WHERE provisioning_status LIKE 'PENDING_%'")
            found += [f"{table} {name}: {status}" for name, status in rows]
    return found


class Api(ApiClient):
    """The Octavia API of one ``lbaas up`` as admin (paths without ``/v2`` go under
    ``/v2/lbaas``)."""

    def __init__(self, endpoint: str, token: str) -> None:
        super().__init__(endpoint, token, timeout=15)

    def lb(self, lb_id: str) -> dict[str, Any]:
        r = self.get(f"/loadbalancers/{lb_id}")
        r.raise_for_status()
        lb: dict[str, Any] = r.json()["loadbalancer"]
        return lb

    def status_tree(self, lb_id: str) -> dict[str, Any]:
        r = self.get(f"/loadbalancers/{lb_id}/status")
        r.raise_for_status()
        tree: dict[str, Any] = r.json()["statuses"]["loadbalancer"]
        return tree

    def wait_active(self, lb_id: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the load balancer is ACTIVE (AssertionError on ERROR or timeout)."""

        def settled() -> dict[str, Any] | None:
            lb = self.lb(lb_id)
            assert lb["provisioning_status"] != "ERROR", f"load balancer {lb_id} is in ERROR"
            return lb if lb["provisioning_status"] == "ACTIVE" else None

        deadline = time.monotonic() + timeout
        while True:
            try:
                found = settled()
            except httpx.HTTPError:
                found = None
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(f"load balancer {lb_id} not ACTIVE within {timeout}s: "
                                     f"{self.lb(lb_id)['provisioning_status']}")
            time.sleep(0.05)

    def change(self, method: str, path: str, lb_id: str, body: dict[str, Any] | None = None,
               timeout: float = 30) -> httpx.Response:
        """One change: send it (2xx expected), then wait until ``lb_id`` is ACTIVE again."""
        send = getattr(self, method)
        r = send(path) if method == "delete" else send(path, body or {})
        assert r.is_success, f"{method.upper()} {path}: {r.status_code} {r.text}"
        self.wait_active(lb_id, timeout)
        return r


def lb_body(name: str, subnet_id: str, members: list[str], **pool: Any) -> dict[str, Any]:
    """An HTTP load balancer on port 80 over the named lab backends, with an HTTP monitor."""
    return {"loadbalancer": {
        "name": name, "vip_subnet_id": subnet_id, "listeners": [{
            "name": f"{name}-http", "protocol": "HTTP", "protocol_port": 80,
            "default_pool": {
                "name": f"{name}-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                **pool,
                "members": [member_body(m) for m in members],
                "healthmonitor": {"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 2,
                                  "max_retries_down": 2, "url_path": "/"}}}]}}


def member_body(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "address": backend_address(name), "protocol_port": 80, **extra}


TIMINGS: dict[str, float] = {}


def note(name: str, seconds: float) -> None:
    TIMINGS[name] = round(seconds, 2)
    print(f"[faults] {name}: {seconds:.2f}s", flush=True)
