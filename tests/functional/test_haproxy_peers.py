"""The two copies of an ACTIVE_STANDBY load balancer share their stick table, shown with real
haproxy: a client keeps its member when the VIP moves to the other copy.

One pair tree (SOURCE_IP persistence over two members) is rendered twice, for copy a and for copy
b (``render_haproxy_config(..., copy=tree.copy_on(host))``), and run by two haproxies in two
network namespaces on a Linux bridge of this test, each namespace holding its copy's vrrp_ip (the
peers protocol's address); the VIP is on copy a, both namespaces may bind it (as the VIP plug
sets ``ip_nonlocal_bind``). Members are Python HTTP servers in namespaces of their own, answering
with their member id; clients are two more namespaces.

Everything (namespaces, veths, bridge, processes by their pid, the runtime directory) is removed
by the lab even when the test fails, then checked to be gone. Skipped unless root with ``ip`` and
``haproxy``.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lbaas.core.tree import AmphoraNode, LoadBalancerTree
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.view import PEER_PORT, ConfigRuntimePaths
from lbaas.drivers.interface.namespaces import write_sysctl
from tests.netlab import Host, Lab, skip_unless_root_and_tools, stop_process
from tests.nodelab.procs import wait_until

# Real haproxy in network namespaces: marked as the tests of tests/e2e are (``-m "not e2e"``).
pytestmark = [pytest.mark.e2e, skip_unless_root_and_tools("ip", "haproxy")]

SUBNET = "10.233.7"
VIP = f"{SUBNET}.100"
VRRP = {"a": f"{SUBNET}.1", "b": f"{SUBNET}.2"}
MEMBERS = {"w1": f"{SUBNET}.11", "w2": f"{SUBNET}.12"}
CLIENTS = {"c1": f"{SUBNET}.51", "c2": f"{SUBNET}.52"}
WAIT = 20.0  # seconds: haproxy start, peer sessions, table pushes


def pair_tree(member_ids: dict[str, str]) -> LoadBalancerTree:
    """An HTTP listener on the VIP, a round-robin pool with SOURCE_IP persistence, two copies."""
    pool_id = str(uuid.uuid4())
    return LoadBalancerTree.model_validate({
        "id": str(uuid.uuid4()),
        "project_id": "project-1",
        "vip_address": VIP,
        "vip_network_id": "network-1",
        "vip_subnet": {"id": "subnet-1", "network_id": "network-1", "cidr": f"{SUBNET}.0/24"},
        "topology": "ACTIVE_STANDBY",
        "provisioning_status": "ACTIVE",
        "listeners": [{"id": str(uuid.uuid4()), "protocol": "HTTP", "protocol_port": 80,
                       "default_pool_id": pool_id}],
        "pools": [{
            "id": pool_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "session_persistence": {"type": "SOURCE_IP", "persistence_timeout": 300},
            "members": [{"id": member_ids[name], "address": address, "protocol_port": 80}
                        for name, address in MEMBERS.items()],
        }],
        "amphorae": [
            {"id": str(uuid.uuid4()), "position": 0, "host": "node-a", "vrrp_ip": VRRP["a"],
             "vrrp_priority": 100, "status": "ALLOCATED"},
            {"id": str(uuid.uuid4()), "position": 1, "host": "node-b", "vrrp_ip": VRRP["b"],
             "vrrp_priority": 90, "status": "ALLOCATED"},
        ],
    })


@dataclass
class Copy:
    """One copy's haproxy, running in its namespace."""

    name: str
    host: Host
    amphora: AmphoraNode
    config: str
    stats_socket: str
    proc: subprocess.Popen[str] | None = None

    def cli(self, command: str) -> str:
        """One command on the stats socket (a unix socket: reachable from any namespace)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(self.stats_socket)
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def answers(self) -> bool:
        return "Name: HAProxy" in self.cli("show info")

    def exited(self) -> str | None:
        """Why waiting for this haproxy is pointless, if it is: it exited."""
        assert self.proc is not None
        if self.proc.poll() is None:
            return None
        error = self.proc.stderr.read() if self.proc.stderr is not None else ""
        return f"haproxy of copy {self.name} exited with {self.proc.returncode}: {error}"

    def table(self, backend: str) -> dict[str, tuple[int, str]]:
        """``show table``: client address -> (server_id, server_key), the server's number and
        name (a member id)."""
        entries = re.findall(r"key=(\S+) .*?server_id=(\d+) server_key=(\S+)",
                             self.cli(f"show table {backend}"))
        return {key: (int(server_id), server_key) for key, server_id, server_key in entries}

    def peer_established(self) -> bool:
        """Whether this copy has a live session with its peer."""
        return "last_status=ESTA" in self.cli("show peers")


@dataclass
class PairLab:
    lab: Lab
    tree: LoadBalancerTree
    copies: dict[str, Copy]
    clients: dict[str, Host]
    procs: list[subprocess.Popen[str]]  # every process started, stopped by the lab

    def start(self, copy: Copy) -> None:
        path = Path(copy.stats_socket).with_name(f"haproxy-{copy.name}.cfg")
        path.write_text(copy.config)
        proc = copy.host.spawn(["haproxy", "-db", "-f", str(path)])
        self.procs.append(proc)
        copy.proc = proc
        wait_until(copy.answers, WAIT, f"haproxy of copy {copy.name}", alive=copy.exited)

    def get(self, client: str) -> str:
        """The member id that answers ``client``'s GET on the VIP."""
        return self.clients[client].http_get(VIP).strip()

    def move_vip(self, source: str, target: str) -> None:
        """What keepalived does on a takeover: the VIP leaves one copy for the other, and the
        clients' ARP caches learn it (flushed here, instead of a gratuitous ARP)."""
        self.copies[source].host.run(["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"])
        self.copies[target].host.run(["ip", "addr", "add", f"{VIP}/24", "dev", "eth0"])
        for client in self.clients.values():
            client.run(["ip", "neigh", "flush", "dev", "eth0"])


@pytest.fixture
def pair() -> Iterator[PairLab]:
    """The lab: bridge, members, clients, and the two copies' namespaces and configs (not
    started). Torn down, and checked to be gone, whatever happened."""
    lab = Lab(tag="p" + secrets.token_hex(2))
    runtime = tempfile.mkdtemp(prefix="lbtp-")
    lab.defer(shutil.rmtree, runtime, True)
    procs: list[subprocess.Popen[str]] = []
    try:
        bridge = lab.bridge("br")
        member_ids = {name: str(uuid.uuid4()) for name in MEMBERS}
        for name, address in MEMBERS.items():
            procs.append(lab.host(name, bridge, f"{address}/24").http_server(member_ids[name]))
        clients = {name: lab.host(name, bridge, f"{address}/24")
                   for name, address in CLIENTS.items()}
        tree = pair_tree(member_ids)
        copies = {}
        for name, node in (("a", "node-a"), ("b", "node-b")):
            host = lab.host(name, bridge, f"{VRRP[name]}/24")
            write_sysctl("net.ipv4.ip_nonlocal_bind", 1, host.namespace)
            amphora = tree.copy_on(node)
            assert amphora is not None
            state = Path(runtime, f"servers-{name}.state")
            state.write_text("1\n")
            stats = str(Path(runtime, f"haproxy-{name}.sock"))
            config = render_haproxy_config(tree, ConfigRuntimePaths(stats, str(state)),
                                           copy=amphora)
            copies[name] = Copy(name, host, amphora, config, stats)
        copies["a"].host.run(["ip", "addr", "add", f"{VIP}/24", "dev", "eth0"])
        yield PairLab(lab, tree, copies, clients, procs)
    finally:
        lab.close()  # stops every process it started, deletes links and namespaces, checks
        assert lab.leftovers() == []
        assert all(proc.poll() is not None for proc in procs), "a process outlived the lab"
        assert not Path(runtime).exists()


def test_a_client_keeps_its_member_when_the_vip_moves_to_the_other_copy(pair: PairLab) -> None:
    a, b = pair.copies["a"], pair.copies["b"]
    backend = pair.tree.pools[0].id

    # One tree, two configs: each names itself as the local peer, both list both copies.
    for copy in (a, b):
        lines = copy.config.splitlines()
        assert f"    localpeer {copy.amphora.id}" in lines
        for other in (a, b):
            assert f"    peer {other.amphora.id} {VRRP[other.name]}:{PEER_PORT}" in lines

    pair.start(a)
    pair.start(b)
    wait_until(lambda: a.peer_established() and b.peer_established(), WAIT, "the peer session")

    # Copy a holds the VIP: round robin gives each new client the next member, and the stick
    # table keeps it there.
    first = pair.get("c1")
    second = pair.get("c2")
    assert first != second
    assert [pair.get("c1") for _ in range(3)] == [first] * 3
    server_ids = {member.id: index for index, member in enumerate(pair.tree.pools[0].members, 1)}
    learnt = {CLIENTS["c1"]: (server_ids[first], first),
              CLIENTS["c2"]: (server_ids[second], second)}
    assert a.table(backend) == learnt

    # Copy b served nobody, yet its table holds what copy a learnt.
    wait_until(lambda: b.table(backend) == learnt, WAIT, "copy a's entries on copy b")
    assert _sessions(b, backend) == 0

    # A copy that starts again (its node rebooted, its agent rebuilt it) starts with an empty
    # table and asks its peer for the whole of it.
    assert b.proc is not None
    stop_process(b.proc)
    pair.start(b)
    wait_until(lambda: b.table(backend) == learnt, WAIT, "copy a's entries on restarted b")

    # Takeover: copy a's haproxy dies, the VIP moves to copy b. Each client reaches the member
    # it had, asked in the other order than on copy a (a fresh round robin would
    # give the second client the first member).
    assert a.proc is not None
    stop_process(a.proc)
    pair.move_vip("a", "b")
    assert [pair.get("c2") for _ in range(3)] == [second] * 3
    assert [pair.get("c1") for _ in range(3)] == [first] * 3
    assert _sessions(b, backend) == 6


def _sessions(copy: Copy, backend: str) -> int:
    """Total sessions the backend of ``copy`` has handled (``show stat`` CSV, ``stot``)."""
    lines = copy.cli("show stat").splitlines()
    header = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        fields = line.split(",")
        if len(fields) == len(header) and fields[0] == backend and fields[1] == "BACKEND":
            return int(fields[header.index("stot")])
    raise AssertionError(f"no backend {backend} in show stat of copy {copy.name}")
