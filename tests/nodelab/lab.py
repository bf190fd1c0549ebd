"""The node lab: a private RabbitMQ, a PostgreSQL database, ``lbaas server`` processes sharing
them, N simulated network nodes each running ``lbaas agent``, backends and a client on the
provider network, and the provider network registered through the API. One context manager
builds it all and undoes it all, in reverse order, also on failure, then checks nothing is left.

Address plan (no address of the provider network in the root namespace)::

    management bridge lbt<tag>mgmt   10.243.<k>.0/24 (k picked per lab, 1-254)
        root namespace               10.243.<k>.1   RabbitMQ listens here
        node-<i>                     10.243.<k>.<10+i>
    provider bridge lbt<tag>prov     10.244.0.0/16, network "provider" (registered)
        gateway                      10.244.0.1 (nobody holds it)
        backends web01, web02, ...   10.244.0.11-19
        client                       10.244.0.200
        VIPs                         the API allocates them from 10.244.1.1-10.244.255.254

Used by ``tests/e2e/test_nodelab.py``, ``python -m tests.nodelab up`` and, later, the failover
tests and benchmarks::

    with NodeLab(nodes=3) as lab:
        lb = lab.create_lb("web")
        lab.wait_serving(lb["vip_address"])
        lab.hosting_node(lb["id"]).lose()
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from lbaas.drivers.interface.namespaces import iproute
from lbaas.services.secret_cipher import ensure_key_file
from tests import pg
from tests.netlab import Host, Lab
from tests.nodelab import cgroups, mountns, sweep
from tests.nodelab.api import LabApi, lb_tree
from tests.nodelab.config import Groups, agent_groups, server_groups, write_config
from tests.nodelab.node import LOCAL_BRIDGE, Node, utc_now
from tests.nodelab.procs import alive, wait_until
from tests.nodelab.rabbitmq import RabbitMQ
from tests.nodelab.servers import Servers

LOG = logging.getLogger(__name__)

PROVIDER_NETWORK = "provider"
PROVIDER_CIDR = "10.244.0.0/16"
PROVIDER_GATEWAY = "10.244.0.1"
VIP_POOL = ("10.244.1.1", "10.244.255.254")
CLIENT_ADDRESS = "10.244.0.200"
MGMT_PREFIX = "10.243"
BACKEND_NAMES = ("web01", "web02")
TENANT = "lab-tenant"

DEFAULT_AGENT: dict[str, Any] = {}
"""``[agent]`` options of every node unless the caller sets them: lbaas's own defaults, so that
tests and benchmarks see what an operator gets."""
DEFAULT_HOUSEKEEPING: dict[str, Any] = {}
"""``[housekeeping]`` options of every server unless the caller sets them (lbaas's defaults)."""


def backend_address(index: int) -> str:
    """The address of the ``index``-th backend (1-based): 10.244.0.10+index."""
    if not 1 <= index <= 9:
        raise ValueError("the lab has room for backends 1-9")
    return f"10.244.0.{10 + index}"


def body_of(name: str) -> str:
    """What backend ``name`` answers."""
    return f"You've reached {name.upper()}"


def _pick_mgmt_subnet(tag: str) -> ipaddress.IPv4Network:
    """A 10.243.<k>.0/24 the root namespace has no route into (parallel labs differ)."""
    with iproute() as root:
        routes = [ipaddress.ip_network(f"{r.get_attr('RTA_DST')}/{r['dst_len']}", strict=False)
                  for r in root.get_routes(family=2) if r.get_attr("RTA_DST")]
    start = int(tag, 16) % 254
    for step in range(254):
        candidate = ipaddress.IPv4Network(f"{MGMT_PREFIX}.{(start + step) % 254 + 1}.0/24")
        if not any(candidate.overlaps(route) for route in routes):
            return candidate
    raise RuntimeError(f"no free /24 left in {MGMT_PREFIX}.0.0/16")


class NodeLab:
    """The whole lab; use as a context manager (or :meth:`start` and :meth:`close`).

    ``agent``: ``[agent]`` options of every node (merged over :data:`DEFAULT_AGENT`);
    ``housekeeping``: ``[housekeeping]`` of every server (over :data:`DEFAULT_HOUSEKEEPING`);
    ``server_options``/``agent_options``: any further groups of their config files; ``zones``:
    node index -> ``[agent] availability_zone`` (default ``nova``); ``api_workers``: ``[api]
    workers`` of each server; ``keep_workdir``: leave the directory with configs and logs.
    """

    def __init__(self, nodes: int = 3, servers: int = 2, *,
                 backends: tuple[str, ...] = BACKEND_NAMES, client: bool = True,
                 api_workers: int = 1, agent: Mapping[str, Any] | None = None,
                 housekeeping: Mapping[str, Any] | None = None,
                 server_options: Groups | None = None, agent_options: Groups | None = None,
                 zones: Mapping[int, str] | None = None, keep_workdir: bool = False,
                 tag: str | None = None) -> None:
        if not 1 <= nodes <= 40 or servers < 1:
            raise ValueError("1-40 nodes and at least one server")
        self.node_count = nodes
        self.server_count = servers
        self.backend_names = backends
        self.with_client = client
        self.api_workers = api_workers
        self.agent_settings = {**DEFAULT_AGENT, **(agent or {})}
        self.housekeeping = {**DEFAULT_HOUSEKEEPING, **(housekeeping or {})}
        self.server_options = server_options
        self.agent_options = agent_options
        self.zones = dict(zones or {})
        self.keep_workdir = keep_workdir
        self.netlab = Lab(tag)
        self.tag = self.netlab.tag
        self.run_dir = sweep.RUN_ROOT / self.tag
        self.cgroup = cgroups.lab_group(self.tag)
        self.workdir = Path()
        self.timings: dict[str, float] = {}
        self.nodes: list[Node] = []
        self.backends: dict[str, Host] = {}
        self.client: Host | None = None
        self.rabbit: RabbitMQ | None = None
        self._servers: Servers | None = None
        self.database_url = ""
        self.admin_token = ""
        self.member_token = ""
        self.network_id = ""
        self.subnet_id = ""
        self.mgmt_bridge = ""
        self.provider_bridge = ""
        self.mgmt_subnet: ipaddress.IPv4Network | None = None
        self._apis: dict[tuple[int, str], LabApi] = {}
        self._state: dict[str, Any] = {}
        self._started_pids: list[int] = []
        self._closed = False

    # -- context manager ---------------------------------------------------------------------

    def __enter__(self) -> NodeLab:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the parts ---------------------------------------------------------------------------

    @property
    def servers(self) -> Servers:
        if self._servers is None:
            raise RuntimeError("the lab is not started")
        return self._servers

    @property
    def broker(self) -> RabbitMQ:
        if self.rabbit is None:
            raise RuntimeError("the lab is not started")
        return self.rabbit

    def node(self, index: int) -> Node:
        """``node-<index>`` (1-based)."""
        return self.nodes[index - 1]

    def node_named(self, host: str) -> Node:
        return next(n for n in self.nodes if n.name == host)

    def api(self, server: int = 1, role: str = "admin") -> LabApi:
        """A client of server ``server`` (1-based) as ``admin`` or ``member`` (of project
        :data:`TENANT`). Closed with the lab."""
        key = (server, role)
        if key not in self._apis:
            token = {"admin": self.admin_token, "member": self.member_token}[role]
            self._apis[key] = LabApi(self.servers.url(server), token)
        return self._apis[key]

    def live_api(self, role: str = "admin") -> LabApi:
        """A client of the first server that runs."""
        for i in self.servers.numbers:
            if self.servers.running(i):
                return self.api(i, role)
        raise RuntimeError("no server runs")

    def agent_view(self, host: str) -> dict[str, Any] | None:
        """The ``GET /v2.0/agents`` entry of ``host`` from a running server."""
        return self.live_api().agent(host)

    # -- start -------------------------------------------------------------------------------

    def start(self) -> None:
        """Build everything; returns when every server answers and every agent is alive."""
        began = time.monotonic()
        sweep.sweep_dead_labs()
        self._prepare_directories()
        lab = self.netlab
        self.mgmt_bridge = lab.bridge("mgmt")
        self.provider_bridge = lab.bridge("prov")
        self.mgmt_subnet = _pick_mgmt_subnet(self.tag)
        mgmt_root = str(self.mgmt_subnet.network_address + 1)
        with iproute() as root:
            root.addr("add", index=root.link_lookup(ifname=self.mgmt_bridge)[0],
                      address=mgmt_root, prefixlen=24)
        self.rabbit = RabbitMQ(self.workdir / "rabbitmq", mgmt_root, self.cgroup, self.tag)
        lab.defer(self.rabbit.close)
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="nodelab") as pool:
            # Python start-ups dominate: the broker, the schema and the nodes are built side by
            # side, then servers, agents and the token commands start together.
            rabbit_up = pool.submit(self._timed, "rabbitmq", self.rabbit.start)
            schema = pool.submit(self._timed, "database and schema", self._prepare_database)
            self._build_nodes()
            self._build_hosts()
            rabbit_up.result()
            schema.result()
            for i in self.servers.numbers:
                self.servers.spawn(i)
            spawned = {node.name: (node.spawn_agent(), utc_now()) for node in self.nodes}
            tokens = pool.submit(self._timed, "tokens", self._create_tokens)
            waits: list[Future[Any]] = [pool.submit(self.servers.wait_ready, i)
                                        for i in self.servers.numbers]
            for future in [tokens, *waits]:
                future.result()
            self.timings["servers ready"] = round(time.monotonic() - began, 2)
            self.network_id, self.subnet_id = self.api().register_network(
                PROVIDER_NETWORK, PROVIDER_CIDR, PROVIDER_GATEWAY, VIP_POOL)
            for node in self.nodes:
                offset, since = spawned[node.name]
                node.wait_started(offset)
                node.wait_alive(since)
        self.timings["up"] = round(time.monotonic() - began, 2)

    def _timed(self, name: str, func: Callable[[], Any]) -> Any:
        began = time.monotonic()
        result = func()
        self.timings[name] = round(time.monotonic() - began, 2)
        return result

    def _prepare_directories(self) -> None:
        lab = self.netlab
        self.workdir = Path(tempfile.mkdtemp(prefix=f"lbaas-nodelab-{self.tag}-"))
        self.workdir.chmod(0o755)
        if not self.keep_workdir:
            lab.defer(shutil.rmtree, self.workdir, True)
        self.run_dir.mkdir(parents=True)
        self._state = {"owner": sweep.owner_record(), "workdir": str(self.workdir),
                       "keep_workdir": self.keep_workdir}
        sweep.write_state(self.run_dir, self._state)
        lab.defer(mountns.release_run_dir, self.run_dir)
        mountns.prepare_run_dir(self.run_dir)
        self.cgroup.create()
        lab.defer(self.cgroup.remove)

    def _prepare_database(self) -> None:
        """A database (and the PostgreSQL server, if none runs), the server configs and the
        schema."""
        started_server = pg.server_base() is None
        self.database_url = pg.create_database()
        if started_server:
            self._state["postgres_base"] = pg.server_base()
            self.netlab.defer(pg.stop_postgres)
        self._state["database"] = self.database_url
        sweep.write_state(self.run_dir, self._state)
        self.netlab.defer(pg.drop_database, self.database_url)
        configs = [self._write_server_config(i) for i in range(1, self.server_count + 1)]
        self._servers = Servers(self.workdir, configs, self.cgroup)
        self.netlab.defer(self._close_servers)
        self.servers.upgrade_schema()

    def _create_tokens(self) -> None:
        """An admin token and a member token of project :data:`TENANT`."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            admin = pool.submit(self.servers.create_token, "admin", "admin", "lab-admin")
            member = pool.submit(self.servers.create_token, TENANT, "member", "lab-member")
            self.admin_token, self.member_token = admin.result(), member.result()
        (self.workdir / "admin-token").write_text(self.admin_token + "\n")
        (self.workdir / "admin-token").chmod(0o600)

    def _close_servers(self) -> None:
        for api in self._apis.values():
            api.close()
        self._apis.clear()
        self.servers.close()

    def _write_server_config(self, i: int) -> Path:
        state = self.workdir / f"server-{i}"
        state.mkdir(exist_ok=True)
        # Every server shares the database, so they share the secret store's key too.
        key = self.workdir / "secret.key"
        ensure_key_file(key)
        groups = server_groups(host=f"server-{i}", state_path=state, secret_key=key,
                               transport_url=self.broker.transport_url,
                               database=self.database_url, workers=self.api_workers,
                               housekeeping=self.housekeeping, extra=self.server_options)
        return write_config(self.workdir / f"server-{i}.conf", groups)

    def _build_nodes(self) -> None:
        assert self.mgmt_subnet is not None
        for i in range(1, self.node_count + 1):
            directory = self.workdir / f"node-{i}"
            directory.mkdir()
            config = write_config(self.workdir / f"node-{i}.conf", agent_groups(
                host=f"node-{i}", state_path=directory, transport_url=self.broker.transport_url,
                bridge_mappings=f"{PROVIDER_NETWORK}:{LOCAL_BRIDGE}",
                availability_zone=self.zones.get(i, "nova"), agent=self.agent_settings,
                extra=self.agent_options))
            node = Node(self.netlab, i, directory=directory, pin=self.run_dir / f"n{i}.mnt",
                        cgroup=self.cgroup.child(f"node-{i}"), mgmt_bridge=self.mgmt_bridge,
                        mgmt_address=f"{self.mgmt_subnet.network_address + 10 + i}/24",
                        provider_bridge=self.provider_bridge, config=config,
                        agent_view=self.agent_view)
            node.build()
            self.nodes.append(node)

    def _build_hosts(self) -> None:
        for number, name in enumerate(self.backend_names, start=1):
            host = self.netlab.host(name, self.provider_bridge,
                                    f"{backend_address(number)}/16")
            host.http_server(body_of(name))
            self.backends[name] = host
        if self.with_client:
            self.client = self.netlab.host("cl", self.provider_bridge, f"{CLIENT_ADDRESS}/16")

    # -- load balancers ----------------------------------------------------------------------

    def members(self, names: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
        """(name, address) of the backends ``names`` (default: all)."""
        wanted = names or self.backend_names
        return [(name, self.backends[name].address) for name in wanted]

    def create_lb(self, name: str, backends: tuple[str, ...] | None = None, server: int = 1,
                  role: str = "member", wait: bool = True, timeout: float = 90.0,
                  **extra: Any) -> dict[str, Any]:
        """A load balancer ``name`` (HTTP on port 80, round robin over ``backends``, HTTP
        monitor) through server ``server``; with ``wait``, until ACTIVE."""
        body = {**lb_tree(name, self.subnet_id, self.members(backends)), **extra}
        return self.api(server, role).create_lb(body, wait=wait, timeout=timeout)

    def hosting_node(self, lb_id: str) -> Node:
        """The node whose agent hosts ``lb_id`` (per the API)."""
        agent = self.live_api().hosting_agent(lb_id)
        if agent is None:
            raise LookupError(f"load balancer {lb_id} is not scheduled")
        return self.node_named(agent["host"])

    def answers(self, vip: str, count: int = 4, port: int = 80, timeout: float = 3.0
                ) -> list[str]:
        """Bodies of ``count`` fresh connections from the client to ``vip``."""
        assert self.client is not None, "the lab has no client"
        return [self.client.http_get(vip, port, timeout=timeout).strip() for _ in range(count)]

    def wait_serving(self, vip: str, backends: tuple[str, ...] | None = None,
                     timeout: float = 30.0) -> list[str]:
        """Wait until ``vip`` answers from exactly ``backends`` (default: all); returns the
        answers of the last round."""
        wanted = {body_of(name) for name in (backends or self.backend_names)}

        def serving() -> list[str] | None:
            got = self.answers(vip, 2 * len(wanted) + 2)
            return got if set(got) == wanted else None

        found: list[str] = wait_until(serving, timeout, f"{vip} to answer from {sorted(wanted)}",
                                      interval=0.2)
        return found

    def restart_postgres(self, down_for: float = 0.0) -> None:
        """Restart the PostgreSQL server (open connections are cut), stopped ``down_for``
        seconds."""
        pg.restart_postgres(down_for)

    # -- the end -----------------------------------------------------------------------------

    def close(self) -> None:
        """Undo everything in reverse order (all of it, even if a step fails), then check that
        nothing is left; raises the first error or a RuntimeError naming the leftovers."""
        if self._closed:
            return
        self._closed = True
        began = time.monotonic()
        broker_pids = self.rabbit.pids_seen if self.rabbit is not None else []
        error: BaseException | None = None
        try:
            self.netlab.close()
        except BaseException as exc:
            error = exc
        left = self.leftovers(broker_pids)
        self.timings["down"] = round(time.monotonic() - began, 2)
        with contextlib.suppress(OSError):
            sweep.RUN_ROOT.rmdir()  # only when no other lab uses it
        if error is not None:
            raise error
        if left:
            raise RuntimeError(f"node lab {self.tag} left {left} behind")

    def leftovers(self, processes: list[tuple[int, int | None]] | None = None) -> list[str]:
        """What of this lab still exists: namespaces and links named ``lbt<tag>*``, its cgroup,
        its run dir or mount-namespace pins, and the processes (pid, start time) among
        ``processes`` that still run."""
        found = self.netlab.leftovers()
        if self.cgroup.exists():
            found.append(f"cgroup {self.cgroup.path} (pids {self.cgroup.pids()})")
        if self.run_dir.exists() or mountns.mounted(self.run_dir):
            found.append(f"run dir {self.run_dir}")
        found += [f"mount {node.pin}" for node in self.nodes if mountns.mounted(node.pin)]
        found += [f"process {pid}" for pid, start in processes or [] if alive((pid, start))]
        return found

    # -- for a person ------------------------------------------------------------------------

    def status(self) -> str:
        """One line per server and node: running, alive, load balancers, namespaces."""
        lines = []
        for i in self.servers.numbers:
            state = "running" if self.servers.running(i) else "stopped"
            lines.append(f"server-{i}  {self.servers.url(i)}  {state}")
        agents: dict[str, dict[str, Any]] = {}
        with contextlib.suppress(httpx.HTTPError, RuntimeError, AssertionError):
            agents = {a["host"]: a for a in self.live_api().agents()}
        for node in self.nodes:
            agent = agents.get(node.name, {})
            lines.append(
                f"{node.name}  agent {'running' if node.agent_running() else 'stopped'}, "
                f"{'alive' if agent.get('alive') else 'not alive'} "
                f"({agent.get('configurations', {}).get('load_balancers', '?')} LBs), "
                f"network {'cut' if not all(node.link_states().values()) else 'up'}, "
                f"namespaces {len(node.namespaces())}")
        return "\n".join(lines)
