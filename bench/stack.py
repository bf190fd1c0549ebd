"""The in-process lbaas stack the data-plane benchmarks measure: the API (SQLite, the functional
tests' harness) with the benchmark's network registered and mapped to the lab bridge, and one
agent (in-process messaging by default, or through a broker) whose load balancers plug into
that bridge; :func:`bench_stack` builds it and :class:`BenchStack` adds backends and a client to
the lab, creates load balancers through the API and waits for them.

Everything :func:`bench_stack` starts is undone on the way out, in reverse order, also on
errors, Ctrl-C and SIGTERM (a Ctrl-C during the teardown waits until it is done): haproxies of
the stack are undeployed, then the lab's processes, namespaces and bridge go, then the work
directory. Before it starts, it sweeps what benchmark runs killed with SIGKILL left
(``bench.sweep``).

The agent gets :class:`ScopedDriver`, the product's haproxy driver restricted to the load
balancers under its own ``state_path``: the stock driver treats every ``qlbaas-`` namespace of the
host as its own (``deployed_ids``), so two agents (or a test suite running next to a benchmark)
on one host remove each other's load balancers as orphans.

Used by every data-plane benchmark (``bench.dataplane``, ``bench.metrics_cost``,
``bench.provisioning``, ``bench.member_update``, ``bench.reload``, ``bench.density``,
``bench.transports``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.lab import (
    ALLOCATION_POOL,
    CLIENT_IP,
    GATEWAY,
    NETWORK_NAME,
    PREFIXLEN,
    SUBNET,
    backend_ip,
    check_environment,
    open_lab,
    raise_nofile,
    shielded,
    tune_client_namespace,
)
from bench.prober import Prober
from bench.servers import nginx_backend
from bench.sweep import sweep_stale, undeploy_state
from lbaas.core.tree import AmphoraNode, LoadBalancerTree
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from lbaas.drivers.haproxy.process import Action, HaproxyProcess
from lbaas.drivers.interface import vip_plug
from lbaas.drivers.interface.namespaces import namespace_path
from tests.netlab import Host, Lab

if TYPE_CHECKING:
    from lbaas.agent.service import AgentService
    from tests.functional.harness import Api

LOG = logging.getLogger(__name__)


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

    def deploy(self, tree: LoadBalancerTree, bridge: str,
               copy: AmphoraNode | None = None) -> Action:
        action = super().deploy(tree, bridge, copy)
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

    def answering_lb(self, client: Host, body: dict[str, Any],
                     answers: Sequence[str] = ("WEB0", "WEB1")) -> dict[str, Any]:
        """POST the load balancer ``body``, wait until it is ACTIVE and its VIP (port 80) has
        answered ``client`` with each backend body of ``answers``; returns it as the API
        shows it then."""
        lb = self.post_lb(body)
        self.wait_active(lb["id"])
        prober = Prober(client)
        for answer in answers:
            answered, _, _ = prober.start(lb["vip_address"], "body", answer,
                                          timeout=30).result(40)
            if not answered:
                raise RuntimeError(f"the load balancer never answered from {answer}")
        return self.lb(lb["id"])

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

    def wait_all_active(self, lb_ids: Sequence[str], timeout: float = 60) -> float:
        """Poll the project's list (one request per poll whatever the count; at most one page
        of 1,000) until every load balancer of ``lb_ids`` is ACTIVE; returns the
        ``time.monotonic()`` when that was seen. RuntimeError if one went to ERROR."""
        wanted = set(lb_ids)

        def statuses() -> dict[str, str]:
            r = self.api.member.get("/loadbalancers",
                                    params={"fields": "id,provisioning_status"})
            return {lb["id"]: lb["provisioning_status"] for lb in r.json()["loadbalancers"]
                    if lb["id"] in wanted}

        found: dict[str, str] = wait_for(
            statuses, lambda s: len(s) == len(wanted) and (
                all(v == "ACTIVE" for v in s.values()) or "ERROR" in s.values()), timeout)
        seen = time.monotonic()
        failed = sorted(lb_id for lb_id, status in found.items() if status != "ACTIVE")
        if failed:
            raise RuntimeError(f"load balancers in ERROR: {', '.join(failed[:5])}")
        return seen

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
        self.agent = AgentService(self.conf, self.api.extra["transport"], driver=self.driver,
                                  keep_log_sockets=True)
        return self.agent


class Interference(RuntimeError):
    """Something outside the benchmark changed its load balancers."""


def namespace_problem(proc: HaproxyProcess, lb_id: str) -> str | None:
    """None when the haproxy of ``lb_id`` runs in the namespace named ``qlbaas-<id>``."""
    try:
        inode = os.stat(namespace_path(vip_plug.namespace_name(lb_id))).st_ino
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
              healthmonitor: bool = True, port: int = 80,
              access_log: bool = True) -> dict[str, Any]:
    """A load balancer with one HTTP listener, a round-robin pool over ``members`` (ip, port)
    and, by default, an HTTP health monitor (1 s interval); ``access_log`` False sets the
    listener's ``lbaas:access_log`` false (no access lines)."""
    pool: dict[str, Any] = {
        "name": f"{name}-pool", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "members": [{"address": ip, "protocol_port": p} for ip, p in members],
    }
    if healthmonitor:
        pool["healthmonitor"] = {"type": "HTTP", "delay": 1, "timeout": 1, "max_retries": 2,
                                 "max_retries_down": 3, "url_path": "/"}
    listener: dict[str, Any] = {"name": f"{name}-http", "protocol": "HTTP",
                                "protocol_port": port, "default_pool": pool}
    if not access_log:
        listener["lbaas:access_log"] = False
    return {"name": name, "listeners": [listener]}


@contextlib.contextmanager
def bench_stack(agent_options: dict[str, Any] | None = None, log_level: str = "WARNING",
                transport_url: str | None = None,
                overrides: dict[str, dict[str, Any]] | None = None) -> Iterator[BenchStack]:
    """Build the lab bridge, the API (SQLite) with the bench network registered and mapped to
    the bridge, and a started agent; tear all of it down on the way out.

    ``transport_url`` sets ``[DEFAULT] transport_url`` (default: the in-process ``fake:/``).
    The API and the agent then share one transport object of that kind, but with a broker
    (``rabbit://…``) every cast, call and reply goes through it; the transport's connections
    are closed on the way out, after the agent and the API stopped. ``overrides`` sets options
    of other groups (``{"metrics": {"token_file": ...}}``)."""
    check_environment()
    raise_nofile()
    quiet_imports()
    from lbaas.agent.access_logs.holder import stop_holder
    from lbaas.agent.service import AgentService
    from tests.functional.harness import build_api, close_api

    for line in sweep_stale():
        LOG.warning("swept leftovers of a killed benchmark run: %s", line)
    lbaas_logger = logging.getLogger("lbaas")
    with contextlib.ExitStack() as stack:
        stack.callback(lbaas_logger.setLevel, lbaas_logger.level)
        lbaas_logger.setLevel(log_level)
        lab, bridge, workdir = open_lab(stack)
        state_path = workdir / "state"
        state_path.mkdir(mode=0o700)
        agent_group: dict[str, Any] = {"bridge_mappings": [f"{NETWORK_NAME}:{bridge}"]}
        agent_group.update(agent_options or {})
        defaults: dict[str, Any] = {"host": f"bench-{lab.tag}", "log_level": log_level}
        if transport_url is not None:
            defaults["transport_url"] = transport_url
        api = build_api(
            str(state_path),
            overrides={**(overrides or {}), "DEFAULT": defaults,
                       "api": {"default_provider": "haproxy"},
                       "agent": agent_group},
            network=("bench-unused", "10.20.0.0/16", "10.20.0.1"))
        amqp_logger = logging.getLogger("amqp")
        if transport_url is not None:
            stack.callback(amqp_logger.setLevel, amqp_logger.level)
            stack.callback(api.extra["transport"].cleanup)
        stack.callback(close_api, api)
        net = api.admin.post("/v2.0/networks", {"network": {"name": NETWORK_NAME}})
        net_id = net.json()["network"]["id"]
        sub = api.admin.post("/v2.0/subnets", {"subnet": {
            "network_id": net_id, "name": f"{NETWORK_NAME}-subnet", "cidr": SUBNET,
            "gateway_ip": GATEWAY, "allocation_pools": [ALLOCATION_POOL]}})
        if sub.status_code != 201:
            raise RuntimeError(f"cannot register the bench subnet: {sub.text}")
        conf = api.services.conf
        # A stopped agent leaves its log sockets to a holder process (as the daemons do): a
        # haproxy whose ring loses its socket reconnects without pause, a core each, which
        # made the teardown of 1,000 load balancers take the host down for minutes. The holder
        # goes once every haproxy is gone.
        stack.callback(stop_holder, state_path)
        # Registered before the agent starts: whatever it deploys is undeployed on the way out.
        stack.callback(_undeploy_all, state_path)
        driver = ScopedDriver(conf)
        agent = AgentService(conf, api.extra["transport"], driver=driver, keep_log_sockets=True)
        built = BenchStack(api=api, lab=lab, bridge=bridge, workdir=workdir,
                           state_path=state_path, conf=conf, agent=agent, driver=driver,
                           subnet_id=sub.json()["subnet"]["id"])
        stack.callback(lambda: built.agent.stop())
        stack.callback(_stop_housekeeping, api)
        if transport_url is not None:
            # From here on, py-amqp warns about every consumer cancel the broker sends to a
            # channel being closed while the RPC servers stop: noise in a benchmark's output.
            stack.callback(amqp_logger.setLevel, logging.ERROR)
        agent.start()
        wait_for(lambda: api.admin.get("/v2.0/agents").json()["agents"],
                 lambda agents: any(a["alive"] for a in agents), 30)
        try:
            yield built
        finally:
            with shielded():
                stack.close()


def _stop_housekeeping(api: Api) -> None:
    """Stop the server's housekeeping before the agent: during a long undeploy (100 load
    balancers and more) it would take the stopped agent for dead and try to move each of its
    load balancers (one warning each). The API's shutdown stops it again (a no-op)."""
    from lbaas.services.housekeeping import Housekeeper

    for task in api.services.background:
        if isinstance(task, Housekeeper):
            task.stop()


def _undeploy_all(state_path: Path) -> None:
    count = undeploy_state(state_path)
    if count:
        LOG.info("undeployed %d load balancers", count)
    left = [lb_id for lb_id in vip_plug.list_lb_namespaces()
            if (state_path / "lbaas" / lb_id).exists()]
    if left:
        LOG.warning("namespaces left after teardown: %s", left)
