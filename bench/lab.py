"""Shared setup of the data-plane benchmarks (dataplane, provisioning, member_update, reload,
density): a private bridge with nginx backends and a client namespace, the in-process lbaas
stack (API + agent, SQLite, in-process messaging) whose load balancers plug into that bridge,
hand-written haproxy baselines, wrk runs and a prober that timestamps the first answer.

Address plan on the benchmark's own bridge (``lbt<tag>br``, no address in the root namespace)::

    10.242.0.1            gateway of the registered subnet (nobody holds it)
    10.242.0.11-19        nginx backends
    10.242.0.20-29        hand-written haproxy baselines
    10.242.0.200          client (wrk, prober)
    10.242.1.1-249.254    VIPs the API allocates
    10.242.250.1-255.254  namespaces of the "by hand" baselines

Everything started here is undone on the way out, in reverse order, also on errors, Ctrl-C and
SIGTERM (a second Ctrl-C during the teardown is ignored): haproxies of the stack are undeployed
by the driver, then the lab's processes, namespaces and bridge go, then the temporary directory.
A run killed with SIGKILL leaves its temporary directory (with an ``owner.pid`` file) behind;
the next benchmark run sweeps what it holds (:func:`sweep_stale`).

The agent gets :class:`ScopedDriver`, the product's haproxy driver restricted to the load
balancers under its own ``state_path``: the stock driver treats every ``qlbaas-`` namespace of the
host as its own (``deployed_ids``), so two agents (or a test suite running next to a benchmark)
on one host remove each other's load balancers as orphans.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.servers import nginx_backend
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from lbaas.drivers.haproxy.process import Action, HaproxyProcess
from lbaas.drivers.interface import netns
from lbaas.drivers.interface.namespaces import namespace_path
from lbaas.rpc.payloads import LoadBalancerTree
from tests.netlab import Host, Lab, sweep

if TYPE_CHECKING:
    from lbaas.agent.service import AgentService
    from tests.functional.harness import Api

LOG = logging.getLogger(__name__)

NET = "10.242"
PREFIXLEN = 16
SUBNET = f"{NET}.0.0/{PREFIXLEN}"
GATEWAY = f"{NET}.0.1"
ALLOCATION_POOL = {"start": f"{NET}.1.1", "end": f"{NET}.249.254"}
CLIENT_IP = f"{NET}.0.200"
NETWORK_NAME = "bench-net"
TMP_PREFIX = "lbaas-bench-dp-"


def backend_ip(index: int) -> str:
    """Address of nginx backend ``index`` (0-based, at most 9)."""
    if not 0 <= index < 9:
        raise ValueError("at most 9 backends")
    return f"{NET}.0.{11 + index}"


def hand_ip(index: int) -> str:
    """Address of hand-written haproxy baseline ``index`` (0-based, at most 10)."""
    if not 0 <= index < 10:
        raise ValueError("at most 10 hand-written haproxies")
    return f"{NET}.0.{20 + index}"


def raw_ip(index: int) -> str:
    """Address of "by hand" namespace ``index`` (0..1499)."""
    if not 0 <= index < 1500:
        raise ValueError("at most 1500 raw namespaces")
    return f"{NET}.{250 + index // 250}.{1 + index % 250}"


# --------------------------------------------------------------------------------------------
# Small helpers


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Ignore SIGINT/SIGTERM while cleaning up (a second Ctrl-C must not strand namespaces)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def quiet_imports() -> None:
    """Import the API test harness and the agent with their dependencies' deprecation warnings
    (eventlet, starlette's TestClient) silenced: they are noise in a benchmark's output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lbaas.agent.service  # noqa: F401
        import tests.functional.harness  # noqa: F401


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10) -> Any:
    quiet_imports()
    from tests.functional.harness import wait_for as harness_wait_for

    return harness_wait_for(fetch, done, timeout)


def check_environment() -> None:
    """Refuse early (SystemExit with a message) when not root or a tool is missing."""
    if os.geteuid() != 0:
        raise SystemExit("the data-plane benchmarks need root (network namespaces)")
    missing = [t for t in ("ip", "haproxy", "nginx", "wrk", "nsenter") if not shutil.which(t)]
    if missing:
        raise SystemExit(f"missing tools: {', '.join(missing)}")


def raise_nofile(wanted: int = 65536) -> None:
    """Raise this process's open-file limit (haproxies started by the agent inherit it)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        else:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(wanted, hard)), hard))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def softnet_drops() -> int:
    """Packets the kernel dropped because a CPU's input backlog was full, since boot
    (``/proc/net/softnet_stat``, second column, all CPUs)."""
    with open("/proc/net/softnet_stat") as f:
        return sum(int(line.split()[1], 16) for line in f if line.strip())


@contextlib.contextmanager
def netdev_backlog_at_least(wanted: int) -> Iterator[int]:
    """Raise ``net.core.netdev_max_backlog`` (host-wide) to ``wanted`` for the block, then put
    the previous value back; yields the value in force.

    A broadcast (ARP) flooded by a Linux bridge is queued once per port on one CPU's input
    backlog: with more ports than ``netdev_max_backlog`` the copies for the ports at the end of
    the bridge's port list (the oldest: backends, clients) are always dropped."""
    path = "/proc/sys/net/core/netdev_max_backlog"
    with open(path) as f:
        previous = int(f.read())
    if previous >= wanted:
        yield previous
        return
    with open(path, "w") as f:
        f.write(str(wanted))
    try:
        yield wanted
    finally:
        with open(path, "w") as f:
            f.write(str(previous))


# --------------------------------------------------------------------------------------------
# Temporary directories and stale runs


def make_workdir() -> Path:
    """A private temporary directory with an ``owner.pid`` (see :func:`sweep_stale`)."""
    path = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    os.chmod(path, 0o700)
    (path / "owner.pid").write_text(str(os.getpid()))
    return path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def undeploy_state(state_path: Path, workers: int = 8) -> int:
    """Stop every haproxy and remove every namespace of the load balancers under
    ``state_path/lbaas`` (as the driver does), in parallel. Returns how many."""
    lbs_dir = state_path / "lbaas"
    try:
        ids = sorted(entry.name for entry in lbs_dir.iterdir() if entry.is_dir())
    except FileNotFoundError:
        return 0
    _undeploy_ids(state_path, ids, workers)
    return len(ids)


def _undeploy_one(state_path: Path, lb_id: str) -> None:
    proc = HaproxyProcess(lb_id, state_path, exec_prefix=netns.netns_exec_argv(lb_id))
    try:
        proc.stop(timeout=2.0)
    finally:
        netns.unplug_vip(lb_id)
        proc.remove_state()


def _undeploy_ids(state_path: Path, ids: Sequence[str], workers: int) -> None:
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-undeploy") as pool:
        for fut in [pool.submit(_undeploy_one, state_path, lb_id) for lb_id in ids]:
            try:
                fut.result()
            except Exception as exc:  # keep going: every other one must still go
                errors.append(exc)
    if errors:
        LOG.warning("%d load balancers failed to undeploy; first: %s", len(errors), errors[0])


def _kill_matching(needle: str) -> list[int]:
    """SIGKILL every process whose command line contains ``needle`` (a work directory path)."""
    killed = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry), signal.SIGKILL)
                killed.append(int(entry))
    return killed


def _kill_in_namespace(name: str) -> None:
    """SIGKILL every process in namespace ``name`` (``ip netns pids``)."""
    done = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True,
                          check=False)
    for pid in done.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def sweep_stale() -> list[str]:
    """Remove what benchmark runs killed with SIGKILL left: their haproxies, ``qlbaas-``
    namespaces (found through their state directories), the processes of their lab (by work
    directory in the command line and by namespace) and lab namespaces (``lab.tag`` file), then
    their temporary directories. Runs whose owner process lives are left alone."""
    swept: list[str] = []
    for workdir in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        try:
            pid = int((workdir / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _pid_alive(pid):
            continue
        count = undeploy_state(workdir / "state")
        _kill_matching(str(workdir))
        with contextlib.suppress(OSError):
            tag = (workdir / "lab.tag").read_text().strip()
            if re.fullmatch(r"[0-9a-f]{4}", tag):
                from lbaas.drivers.interface.namespaces import list_namespaces

                for name in list_namespaces():
                    if name.startswith(f"lbt{tag}"):
                        _kill_in_namespace(name)
                swept += sweep(f"lbt{tag}")
        shutil.rmtree(workdir, ignore_errors=True)
        swept.append(f"{workdir} ({count} load balancers)")
    return swept


# --------------------------------------------------------------------------------------------
# Processes in namespaces


def tune_client_namespace(host: Host) -> None:
    """Many short connections from one namespace: reuse TIME_WAIT ports, widen the range."""
    for key, value in (("net.ipv4.tcp_tw_reuse", "1"),
                       ("net.ipv4.ip_local_port_range", "1024 65000")):
        host.run(["sysctl", "-q", "-w", f"{key}={value}"])


# --------------------------------------------------------------------------------------------
# The lbaas stack


class ScopedDriver(HaproxyNamespaceDriver):
    """The product's driver, limited to the load balancers under its own ``state_path`` (see the
    module docstring), recording the outcome and time of every ``deploy``."""

    def __init__(self, conf: Any) -> None:
        super().__init__(conf)
        self._lock = threading.Lock()
        self.deploys: dict[str, list[tuple[float, str]]] = {}

    def deployed_ids(self) -> set[str]:
        try:
            return {entry.name for entry in self.lbs_dir.iterdir() if entry.is_dir()}
        except FileNotFoundError:
            return set()

    def deploy(self, tree: LoadBalancerTree, bridge: str) -> Action:
        action = super().deploy(tree, bridge)
        with self._lock:
            self.deploys.setdefault(tree.id, []).append((time.monotonic(), str(action)))
        return action

    def records(self) -> dict[str, list[tuple[float, str]]]:
        with self._lock:
            return {key: list(value) for key, value in self.deploys.items()}


@dataclasses.dataclass
class BenchStack:
    """The in-process stack (API on SQLite + one agent) on the benchmark's bridge."""

    api: Api
    lab: Lab
    bridge: str
    workdir: Path
    state_path: Path
    conf: Any
    agent: AgentService
    driver: ScopedDriver
    subnet_id: str
    hosts: dict[str, Host] = dataclasses.field(default_factory=dict)
    servers: dict[int, subprocess.Popen[bytes]] = dataclasses.field(default_factory=dict)

    # -- hosts -----------------------------------------------------------------------------------

    def host(self, suffix: str, ip: str) -> Host:
        host = self.lab.host(suffix, self.bridge, f"{ip}/{PREFIXLEN}")
        self.hosts[suffix] = host
        return host

    def backend(self, index: int, body: str) -> Host:
        host = self.host(f"b{index}", backend_ip(index))
        self.servers[index] = nginx_backend(host, self.workdir, body)
        return host

    def lb_pids(self, lb_id: str) -> list[int]:
        """The haproxy master and workers of ``lb_id``."""
        info = self.process(lb_id).proc_info()
        return [] if info is None else [info.master_pid, *(pid for pid, _ in info.workers)]

    def client(self) -> Host:
        host = self.host("cl", CLIENT_IP)
        tune_client_namespace(host)
        return host

    # -- API -------------------------------------------------------------------------------------

    def post_lb(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST a load balancer (tree) on the bench subnet; returns the 201 body's object."""
        body = {"vip_subnet_id": self.subnet_id, **body}
        r = self.api.member.post("/loadbalancers", {"loadbalancer": body})
        if r.status_code != 201:
            raise RuntimeError(f"create failed: {r.status_code} {r.text}")
        return dict(r.json()["loadbalancer"])

    def lb(self, lb_id: str) -> dict[str, Any]:
        return dict(self.api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"])

    def wait_active(self, lb_id: str, timeout: float = 60) -> dict[str, Any]:
        lb: dict[str, Any] = wait_for(lambda: self.lb(lb_id),
                                      lambda o: o["provisioning_status"] in ("ACTIVE", "ERROR"),
                                      timeout)
        if lb["provisioning_status"] != "ACTIVE":
            raise RuntimeError(f"load balancer {lb_id} is {lb['provisioning_status']}")
        return lb

    def process(self, lb_id: str) -> HaproxyProcess:
        return self.driver.process(lb_id)

    def check_intact(self, lb_ids: Sequence[str]) -> None:
        """Raise :class:`Interference` unless every load balancer's haproxy runs inside the
        namespace that is named ``qlbaas-<id>`` right now.

        Another lbaas agent or test stack on this host removes our namespaces as its orphans
        (the stock driver's ``deployed_ids`` is host-wide); the agent then keeps a haproxy
        running in the unnamed old namespace and answers "unchanged", so the VIP stays dead."""
        problems = [f"{lb_id}: {problem}" for lb_id in lb_ids
                    if (problem := namespace_problem(self.process(lb_id), lb_id))]
        if problems:
            raise Interference(
                "load balancers of this benchmark were broken from outside (another lbaas "
                "agent or an e2e test stack on this host removes every qlbaas- namespace it "
                "does not own): " + "; ".join(problems[:5]))

    # -- agent -----------------------------------------------------------------------------------

    def new_agent(self) -> AgentService:
        """Stop the agent (haproxies keep running) and build a fresh one over the same state,
        not started (the caller times its :meth:`AgentService.start`)."""
        from lbaas.agent.service import AgentService

        self.agent.stop()
        self.driver = ScopedDriver(self.conf)
        self.agent = AgentService(self.conf, self.api.extra["transport"], driver=self.driver)
        return self.agent


class Interference(RuntimeError):
    """Something outside the benchmark changed its load balancers."""


def namespace_problem(proc: HaproxyProcess, lb_id: str) -> str | None:
    """None when the haproxy of ``lb_id`` runs in the namespace named ``qlbaas-<id>``."""
    try:
        inode = os.stat(namespace_path(netns.namespace_name(lb_id))).st_ino
    except FileNotFoundError:
        return "its namespace is gone"
    info = proc.proc_info()
    if info is None:
        return "its haproxy does not answer"
    for pid in (info.master_pid, *(pid for pid, _ in info.workers)):
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino != inode:
                return (f"haproxy pid {pid} runs in another network namespace than the one "
                        "now named qlbaas-<id> (it was deleted and recreated)")
        except FileNotFoundError:
            continue
    return None


def full_tree(members: Sequence[tuple[str, int]], *, name: str = "bench",
              healthmonitor: bool = True, port: int = 80) -> dict[str, Any]:
    """A load balancer with one HTTP listener, a round-robin pool over ``members`` (ip, port)
    and, by default, an HTTP health monitor (1 s interval)."""
    pool: dict[str, Any] = {
        "name": f"{name}-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "members": [{"address": ip, "protocol_port": p} for ip, p in members],
    }
    if healthmonitor:
        pool["healthmonitor"] = {"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 2,
                                 "max_retries_down": 3, "url_path": "/"}
    return {"name": name, "listeners": [{"name": f"{name}-http", "protocol": "HTTP",
                                         "protocol_port": port, "default_pool": pool}]}


@contextlib.contextmanager
def bench_stack(agent_options: dict[str, Any] | None = None,
                log_level: str = "WARNING") -> Iterator[BenchStack]:
    """Build the lab bridge, the API (SQLite) with the bench network registered and mapped to
    the bridge, and a started agent; tear all of it down on the way out."""
    check_environment()
    raise_nofile()
    quiet_imports()
    from lbaas.agent.service import AgentService
    from tests.functional.harness import build_api, close_api

    for line in sweep_stale():
        LOG.warning("swept leftovers of a killed benchmark run: %s", line)
    lbaas_logger = logging.getLogger("lbaas")
    with contextlib.ExitStack() as stack:
        stack.callback(lbaas_logger.setLevel, lbaas_logger.level)
        lbaas_logger.setLevel(log_level)
        lab, bridge, workdir = _open_lab(stack)
        state_path = workdir / "state"
        state_path.mkdir(mode=0o700)
        agent_group: dict[str, Any] = {"bridge_mappings": [f"{NETWORK_NAME}:{bridge}"]}
        agent_group.update(agent_options or {})
        api = build_api(
            str(state_path),
            overrides={"DEFAULT": {"host": f"bench-{lab.tag}", "log_level": log_level},
                       "api": {"default_provider": "haproxy"},
                       "agent": agent_group},
            network=("bench-unused", "10.20.0.0/16", "10.20.0.1"))
        stack.callback(close_api, api)
        net = api.admin.post("/v2.0/networks", {"network": {"name": NETWORK_NAME}})
        net_id = net.json()["network"]["id"]
        sub = api.admin.post("/v2.0/subnets", {"subnet": {
            "network_id": net_id, "name": f"{NETWORK_NAME}-subnet", "cidr": SUBNET,
            "gateway_ip": GATEWAY, "allocation_pools": [ALLOCATION_POOL]}})
        if sub.status_code != 201:
            raise RuntimeError(f"cannot register the bench subnet: {sub.text}")
        conf = api.services.conf
        # Registered before the agent starts: whatever it deploys is undeployed on the way out.
        stack.callback(_undeploy_all, state_path)
        driver = ScopedDriver(conf)
        agent = AgentService(conf, api.extra["transport"], driver=driver)
        built = BenchStack(api=api, lab=lab, bridge=bridge, workdir=workdir,
                           state_path=state_path, conf=conf, agent=agent, driver=driver,
                           subnet_id=sub.json()["subnet"]["id"])
        stack.callback(lambda: built.agent.stop())
        agent.start()
        wait_for(lambda: api.admin.get("/v2.0/agents").json()["agents"],
                 lambda agents: any(a["alive"] for a in agents), 30)
        try:
            yield built
        finally:
            with shielded():
                stack.close()


def _open_lab(stack: contextlib.ExitStack) -> tuple[Lab, str, Path]:
    """A work directory and a lab with its bridge, both removed when ``stack`` closes."""
    workdir = make_workdir()
    stack.callback(shutil.rmtree, workdir, True)
    lab = Lab()
    (workdir / "lab.tag").write_text(lab.tag)
    stack.callback(_close_lab, lab)
    return lab, lab.bridge("br"), workdir


def _close_lab(lab: Lab) -> None:
    lab.close()


def _undeploy_all(state_path: Path) -> None:
    count = undeploy_state(state_path)
    if count:
        LOG.info("undeployed %d load balancers", count)
    left = [lb_id for lb_id in netns.list_lb_namespaces()
            if (state_path / "lbaas" / lb_id).exists()]
    if left:
        LOG.warning("namespaces left after teardown: %s", left)


def raw_namespace(lab: Lab, bridge: str, suffix: str, ip: str) -> str:
    """Create a namespace with a veth into ``bridge`` and ``ip`` on it "by hand" (one
    ``ip -batch`` run: what an operator's script does); returns its name. The lab removes it."""
    name = lab.name(suffix)
    outer = name + "v"
    lab.defer(_delete_raw, name, outer)
    outer_batch = "\n".join([
        f"netns add {name}",
        f"link add {outer} type veth peer name eth0 netns {name}",
        f"link set {outer} master {bridge} up",
    ]) + "\n"
    inner_batch = "\n".join([
        "link set lo up",
        f"addr add {ip}/{PREFIXLEN} dev eth0",
        "link set eth0 up",
    ]) + "\n"
    for argv, batch in ((["ip", "-batch", "-"], outer_batch),
                        (["ip", "-n", name, "-batch", "-"], inner_batch)):
        subprocess.run(argv, input=batch, text=True, check=True, capture_output=True,
                       timeout=30)
    return name


def _delete_raw(name: str, outer: str) -> None:
    subprocess.run(["ip", "link", "del", outer], capture_output=True, check=False)
    if os.path.exists(namespace_path(name)):
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
