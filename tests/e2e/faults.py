"""Helpers of the fault tests (``test_faults.py``): the real all-in-one (``lbaas up``) as a
subprocess that a test may SIGKILL, SIGTERM and start again on the same state path, a small
Octavia API client on its admin token, and a paced load generator that runs in a lab namespace and
counts every failed request.

Not a test module. Everything here is bounded in time; nothing waits forever.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.drivers.interface.namespaces import list_namespaces, namespace_path
from lbaas.drivers.interface.vip_plug import NS_PREFIX, outer_ifname
from tests.netlab import Host, link_names, stop_process

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
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = check()
        except Exception as exc:  # the condition may raise while things converge
            value, last = None, exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


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


# -- the all-in-one process ------------------------------------------------------------------------


def write_config(path: Path, bridge: str, **agent: Any) -> Path:
    """An oslo.config file for ``lbaas up``: the lab bridge carries :data:`NETWORK`, fast
    heartbeats/stats/resyncs and a short pending timeout. (``lbaas up`` itself forces
    ``[housekeeping] interval = 5`` and ``host = all-in-one``.)"""
    options = {"report_interval": 0.5, "stats_interval": 0.5, "resync_interval": 10, **agent}
    lines = ["[DEFAULT]", "log_level = INFO", "", "[api]", "default_provider = haproxy", "",
             "[agent]", f"bridge_mappings = {NETWORK}:{bridge}"]
    lines += [f"{key} = {value}" for key, value in options.items()]
    lines += ["", "[housekeeping]", "pending_timeout = 10", "agent_down_time = 10", ""]
    path.write_text("\n".join(lines))
    return path


class Api:
    """The Octavia API of one ``lbaas up`` as admin (paths without ``/v2.0`` go under
    ``/v2/lbaas``)."""

    def __init__(self, endpoint: str, token: str) -> None:
        self.client = httpx.Client(base_url=endpoint, headers={"X-Auth-Token": token},
                                   timeout=15)

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def _path(path: str) -> str:
        return path if path.startswith(("/v2.0", "/healthcheck")) else f"/v2/lbaas{path}"

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(self._path(path), params=params or None)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(self._path(path), json=body)

    def put(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.put(self._path(path), json=body)

    def delete(self, path: str) -> httpx.Response:
        return self.client.delete(self._path(path))

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


PYCACHE = Path(tempfile.gettempdir()) / "lbaas-faults-pycache"


def child_env() -> dict[str, str]:
    """The environment of ``lbaas up``: bytecode cached in a private directory, even where
    PYTHONDONTWRITEBYTECODE is set (compiling every import costs ~10 s per start on a busy
    2-core machine, and the tests start the process three times)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


@dataclass
class AllInOne:
    """``lbaas up`` on ``state_path`` as a subprocess, restartable."""

    state_path: Path
    config: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    api: Api | None = None
    starts: int = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.state_path.parent / "lbaas-up.out"

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "lbaas.cli.main", *args]

    def start(self, timeout: float = 60) -> float:
        """Start ``lbaas up`` and wait until its API answers and its agent is alive; returns
        the seconds it took."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        started = time.monotonic()
        token_file = self.state_path / "admin-token"
        with contextlib.suppress(FileNotFoundError):
            token_file.unlink()  # the new process writes a new one (the old one is revoked)
        self.starts += 1
        with open(self.log, "ab") as out:
            out.write(f"\n===== start {self.starts} =====\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.argv("up", "--config-file", str(self.config), "--state-path",
                          str(self.state_path), "--port", str(self.port)),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, env=child_env())

        def ready() -> bool:
            if not token_file.exists():
                return False
            token = token_file.read_text().strip()
            if not token:
                return False
            if self.api is None or self.api.client.headers.get("X-Auth-Token") != token:
                if self.api is not None:
                    self.api.close()
                self.api = Api(self.endpoint, token)
            agents = self.api.get("/v2.0/agents").json()["agents"]
            return any(a["alive"] for a in agents)

        deadline = started + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"lbaas up exited with {self.proc.returncode}: "
                                     f"{self.tail()}")
            with contextlib.suppress(httpx.HTTPError, OSError, KeyError, ValueError):
                if ready():
                    return time.monotonic() - started
            if time.monotonic() >= deadline:
                raise AssertionError(f"lbaas up did not serve with a live agent within "
                                     f"{timeout}s: {self.tail()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL ``lbaas up`` (and nothing else: haproxy runs in its own sessions)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 40) -> int:
        """SIGTERM ``lbaas up`` and wait for it to exit; returns its exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"lbaas up did not stop on SIGTERM: {self.tail()}") from None

    def stop(self) -> None:
        """Stop it if it runs (SIGTERM, then SIGKILL)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.api is not None:
            self.api.close()
            self.api = None

    def down(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv("down", "--config-file", str(self.config),
                                        "--state-path", str(self.state_path)),
                              capture_output=True, text=True, timeout=120, check=False)

    def tail(self, size: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-size:]
        except FileNotFoundError:
            return ""

    def haproxy(self, lb_id: str) -> HaproxyProcess:
        """The haproxy of ``lb_id`` under this state path (for pids and sockets)."""
        return HaproxyProcess(lb_id, self.state_path)

    def haproxy_pids(self) -> list[int]:
        """Pids of every haproxy whose command line names a config under this state path."""
        marker = os.fsencode(str(self.state_path / "lbaas") + "/")
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"haproxy" in cmdline.split(b"\0")[0] and marker in cmdline:
                pids.append(int(entry))
        return pids


def leftovers(lb_ids: set[str]) -> list[str]:
    """Namespaces or root links of the load balancers ``lb_ids`` that still exist."""
    names = {NS_PREFIX + i for i in lb_ids} | {outer_ifname(i) for i in lb_ids}
    return sorted(names & (set(list_namespaces()) | set(link_names())))


def netns_inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def haproxy_in_its_namespace(aio: AllInOne, lb_id: str) -> bool:
    """True when the haproxy master of ``lb_id`` answers and lives in ``qlbaas-<lb_id>``."""
    info = aio.haproxy(lb_id).proc_info()
    if info is None:
        return False
    mine = netns_inode(f"/proc/{info.master_pid}/ns/net")
    named = netns_inode(namespace_path(NS_PREFIX + lb_id))
    return mine is not None and mine == named


# -- a paced load generator in a lab namespace ---------------------------------------------------

LOADGEN = textwrap.dedent(
    """
    import collections, http.client, json, os, sys, threading, time

    vip, port, interval, max_seconds, min_requests, stop_file, per_conn = (
        sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]),
        int(sys.argv[5]), sys.argv[6], int(sys.argv[7]))
    results = {}
    start = time.monotonic()

    def run(kind):
        ok = failed = reused = 0
        errors, bodies, slowest = [], collections.Counter(), 0.0
        conn, used = None, 0
        i = 0
        while True:
            now = time.monotonic()
            if now - start > max_seconds or (i >= min_requests and os.path.exists(stop_file)):
                break
            due = start + i * interval
            if due > now:
                time.sleep(due - now)
            i += 1
            began = time.monotonic()
            try:
                if kind == "fresh" or conn is None or used >= per_conn:
                    if conn is not None:
                        conn.close()
                    conn, used = http.client.HTTPConnection(vip, port, timeout=5), 0
                if kind == "fresh":
                    conn.request("GET", "/", headers={"Connection": "close"})
                else:
                    reused += conn.sock is not None
                    conn.request("GET", "/")
                response = conn.getresponse()
                body = response.read().decode()
                used += 1
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}: {body[:100]}")
                ok += 1
                bodies[body.strip()] += 1
            except Exception as exc:
                failed += 1
                errors.append(f"{time.monotonic() - start:.3f}s {type(exc).__name__}: {exc}")
                if conn is not None:
                    conn.close()
                conn = None
            slowest = max(slowest, time.monotonic() - began)
            if kind == "fresh" and conn is not None:
                conn.close()
                conn = None
        results[kind] = {"ok": ok, "failed": failed, "errors": errors[:20],
                         "bodies": dict(bodies), "reused": reused,
                         "slowest": round(slowest, 3)}

    kinds = sys.argv[8].split(",")
    threads = [threading.Thread(target=run, args=(k,)) for k in kinds]
    for t in threads:
        t.start()
    print("READY", flush=True)
    for t in threads:
        t.join()
    results["seconds"] = round(time.monotonic() - start, 3)
    print(json.dumps(results), flush=True)
    """
)


@dataclass
class LoadResult:
    seconds: float
    kinds: dict[str, dict[str, Any]]

    @property
    def ok(self) -> int:
        return sum(k["ok"] for k in self.kinds.values())

    @property
    def failed(self) -> int:
        return sum(k["failed"] for k in self.kinds.values())

    @property
    def errors(self) -> list[str]:
        return [f"{name}: {e}" for name, k in self.kinds.items() for e in k["errors"]]

    @property
    def bodies(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for k in self.kinds.values():
            for body, count in k["bodies"].items():
                out[body] = out.get(body, 0) + count
        return out

    def summary(self) -> str:
        parts = [f"{name}: {k['ok']} ok, {k['failed']} failed, slowest {k['slowest']}s"
                 + (f", {k['reused']} on reused connections" if name == "keepalive" else "")
                 for name, k in self.kinds.items()]
        return f"{self.ok + self.failed} requests in {self.seconds}s ({'; '.join(parts)})"


class LoadGen:
    """Paced GETs from ``client`` to ``vip``: one thread opening a new connection per request
    and/or one reusing keep-alive connections (``per_conn`` requests each), each thread one
    request every ``interval`` seconds. Runs until :meth:`stop` once ``min_requests`` per thread
    were sent, and never longer than ``max_seconds``."""

    def __init__(self, client: Host, vip: str, stop_file: Path, interval: float = 0.04,
                 min_requests: int = 200, max_seconds: float = 40, per_conn: int = 20,
                 kinds: tuple[str, ...] = ("fresh", "keepalive"), port: int = 80) -> None:
        self.stop_file = stop_file
        with contextlib.suppress(FileNotFoundError):
            stop_file.unlink()
        self.max_seconds = max_seconds
        self.proc = client.spawn(
            [sys.executable, "-c", LOADGEN, vip, str(port), str(interval), str(max_seconds),
             str(min_requests), str(stop_file), str(per_conn), ",".join(kinds)],
            ready_line="READY")

    def stop(self) -> LoadResult:
        """Ask it to stop (after its minimum), wait and return what it counted."""
        self.stop_file.touch()
        assert self.proc.stdout is not None
        deadline = time.monotonic() + self.max_seconds + 15
        line = ""
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.proc.stdout], [], [], 1.0)
            if readable:
                line = self.proc.stdout.readline()
                if line.strip() or self.proc.poll() is not None:
                    break
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
        stop_process(self.proc)
        assert line.strip(), f"load generator gave no result: {err}"
        data = json.loads(line)
        seconds = data.pop("seconds")
        return LoadResult(seconds, data)


@contextlib.contextmanager
def load(client: Host, vip: str, stop_file: Path, **kwargs: Any) -> Iterator[list[LoadResult]]:
    """Run a :class:`LoadGen` for the ``with`` block; the result is appended to the yielded
    list when the block ends (the generator is stopped even when the block fails)."""
    gen = LoadGen(client, vip, stop_file, **kwargs)
    out: list[LoadResult] = []
    try:
        yield out
    finally:
        out.append(gen.stop())
