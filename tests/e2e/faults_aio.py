"""The real all-in-one of the fault tests (``test_faults_*.py``): ``lbaas up`` as a subprocess
that a test may SIGKILL, SIGTERM and start again on the same state path, its config file, checks
on what it leaves behind, and :class:`Env`, what the tests work with (the process, the lab, a
client host and the subnet).

The fixtures ``env`` (one ``lbaas up`` per test module; its teardown removes every load
balancer, stops the process and checks that no namespace, link or haproxy of the run survives)
and ``fresh`` are defined here and made available to tests/e2e by tests/e2e/conftest.py.

Not a test module. Everything here is bounded in time; nothing waits forever.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from lbaas.agent.access_logs import holder
from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.drivers.interface.namespaces import list_namespaces, namespace_path
from lbaas.drivers.interface.vip_plug import NS_PREFIX, outer_ifname
from tests.e2e.faults import (
    BACKEND_OCTETS,
    CLIENT_OCTET,
    GATEWAY,
    NETWORK,
    SUBNET,
    VIP_POOL,
    Api,
    body_of,
    eventually,
    free_port,
    lb_body,
    note,
    pending_statuses,
)
from tests.netlab import Host, Lab, link_names

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


# -- the test environment --------------------------------------------------------------------------


@dataclass
class Env:
    aio: AllInOne
    lab: Lab
    client: Host
    subnet_id: str
    tmp: Path
    lb_ids: set[str] = field(default_factory=set)

    @property
    def api(self) -> Api:
        assert self.aio.api is not None
        return self.aio.api

    def post_lb(self, name: str, members: list[str]) -> dict[str, Any]:
        r = self.api.post("/loadbalancers", lb_body(name, self.subnet_id, members))
        assert r.status_code == 201, r.text
        lb: dict[str, Any] = r.json()["loadbalancer"]
        self.lb_ids.add(lb["id"])
        return lb

    def create_lb(self, name: str, members: list[str]) -> dict[str, Any]:
        """Create a load balancer over ``members`` and wait until every member answers."""
        lb = self.post_lb(name, members)
        lb = self.api.wait_active(lb["id"], 60)
        self.wait_serving(lb["vip_address"], members)
        return lb

    def answers(self, vip: str, count: int) -> list[str]:
        return [self.client.http_get(vip, 80, timeout=3).strip() for _ in range(count)]

    def serving(self, vip: str, members: list[str]) -> bool:
        wanted = {body_of(m) for m in members}
        return set(self.answers(vip, 2 * len(members) + 2)) == wanted

    def wait_serving(self, vip: str, members: list[str], timeout: float = 30) -> None:
        eventually(lambda: self.serving(vip, members), timeout,
                   f"{vip} to answer from exactly {members}", interval=0.2)

    def members(self, pool_id: str) -> dict[str, dict[str, Any]]:
        r = self.api.get(f"/pools/{pool_id}/members")
        r.raise_for_status()
        return {m["name"]: m for m in r.json()["members"]}

    def delete_lbs(self, timeout: float = 60) -> None:
        """Cascade-delete every load balancer and wait until the API has none left."""
        for lb in self.api.get("/loadbalancers").json()["loadbalancers"]:
            self.api.delete(f"/loadbalancers/{lb['id']}?cascade=true")
        eventually(lambda: not self.api.get("/loadbalancers").json()["loadbalancers"], timeout,
                   "every load balancer to be deleted", interval=0.2)

    def no_pending_anywhere(self) -> list[str]:
        """Every PENDING_* status: the status trees, and the lists of pools and L7 policies
        (a status tree, as Octavia's, leaves out L7 policies and pools no listener uses)."""
        found: list[str] = []
        for lb in self.api.get("/loadbalancers").json()["loadbalancers"]:
            found += pending_statuses(self.api.status_tree(lb["id"]), lb["name"])
        for collection in ("pools", "l7policies"):
            found += pending_statuses(self.api.get(f"/{collection}").json()[collection],
                                      collection)
        return found


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("faults")
    # The state directory must be short: haproxy refuses socket paths over 97 bytes (see
    # test_deep_state_path_sockets_are_accepted_by_haproxy).
    short = Path(tempfile.mkdtemp(prefix="lbf", dir="/tmp"))
    lab = Lab()
    aio: AllInOne | None = None
    built: Env | None = None
    try:
        bridge = lab.bridge("br")
        for name, octet in BACKEND_OCTETS.items():
            lab.host(name, bridge, f"10.243.0.{octet}/24").http_server(body_of(name))
        client = lab.host("cl", bridge, f"10.243.0.{CLIENT_OCTET}/24")
        aio = AllInOne(short / "state", write_config(tmp / "lbaas.conf", bridge))
        note("lbaas up: first start", aio.start())
        assert aio.api is not None
        r = aio.api.post("/v2.0/networks", {"network": {"name": NETWORK, "shared": True}})
        assert r.status_code == 201, r.text
        r = aio.api.post("/v2.0/subnets", {"subnet": {
            "network_id": r.json()["network"]["id"], "name": f"{NETWORK}-subnet", "cidr": SUBNET,
            "ip_version": 4, "gateway_ip": GATEWAY, "allocation_pools": [VIP_POOL]}})
        assert r.status_code == 201, r.text
        built = Env(aio=aio, lab=lab, client=client, subnet_id=r.json()["subnet"]["id"], tmp=tmp)
        yield built
    finally:
        try:
            _teardown(aio, built, lab)
        finally:
            if aio is not None and aio.log.exists():
                shutil.copy(aio.log, tmp / "lbaas-up.out")
                with contextlib.suppress(FileNotFoundError):
                    shutil.copy(aio.state_path / "lbaas.log", tmp / "lbaas.log")
            shutil.rmtree(short, ignore_errors=True)


def _teardown(aio: AllInOne | None, built: Env | None, lab: Lab) -> None:
    problems: list[str] = []
    try:
        if aio is not None:
            if built is not None and aio.proc is not None and aio.proc.poll() is None:
                try:
                    built.delete_lbs()
                except Exception as exc:
                    problems.append(f"deleting load balancers: {exc}")
            aio.stop()
            holder.stop_holder(aio.state_path)  # 'lbaas up' leaves its log sockets held
            ours = (built.lb_ids if built else set()) | _state_dirs(aio)
            # 'lbaas down' only when something of ours is left: it also deletes the host-wide
            # demo bridge and backends, which a concurrent 'lbaas up --demo' may be using.
            if leftovers(ours) or aio.haproxy_pids() or _state_dirs(aio):
                down = aio.down()
                if down.returncode != 0:
                    problems.append(f"lbaas down failed: {down.stderr[-2000:]}")
            for pid in aio.haproxy_pids():
                problems.append(f"haproxy {pid} of this run survived")
                os.kill(pid, signal.SIGKILL)
            if left := leftovers(ours):
                problems.append(f"left behind: {left}")
    finally:
        lab.close()
    assert not problems, problems


def _state_dirs(aio: AllInOne) -> set[str]:
    try:
        return {p.name for p in (aio.state_path / "lbaas").iterdir() if p.is_dir()}
    except FileNotFoundError:
        return set()


@pytest.fixture
def fresh(env: Env) -> Iterator[Env]:
    """The environment (``lbaas up`` started again if a failed test left it stopped), with
    every load balancer a test made deleted after it."""
    if env.aio.proc is None or env.aio.proc.poll() is not None:
        env.aio.start()
    yield env
    if env.aio.proc is not None and env.aio.proc.poll() is None:
        env.delete_lbs()
