"""One simulated network node of the node lab: a network namespace with two uplinks (a veth into
the lab's management bridge, where the broker listens, and a veth into the provider bridge,
enslaved inside to the node-local bridge ``brprov`` that the agent plugs VIPs into), a private
mount namespace (its own ``/run/netns`` and ``/run/lbaas``), a cgroup holding its agent and every
haproxy the agent starts, and the agent itself (``lbaas agent -c node-<i>.conf``).

Faults: :meth:`Node.kill_agent` (the agent only; haproxy keeps serving), :meth:`Node.lose` (cut
its network and kill everything of it at once), :meth:`Node.come_back`.

Built by :class:`tests.nodelab.lab.NodeLab`, which registers every cleanup on its
:class:`tests.netlab.Lab` as it builds.
"""

from __future__ import annotations

import datetime as dt
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lbaas.drivers.interface.namespaces import delete_namespace, ensure_namespace, iproute
from lbaas.drivers.interface.vip_plug import NS_PREFIX
from tests.netlab import Lab, _delete_link
from tests.nodelab import mountns
from tests.nodelab.cgroups import Cgroup
from tests.nodelab.procs import (
    LBAAS,
    child_env,
    log_since,
    log_size,
    reap,
    spawn_logged,
    tail,
    wait_until,
)

LOCAL_BRIDGE = "brprov"
"""The node-local bridge of the provider network (``[agent] bridge_mappings``)."""
STARTED_LINE = "lbaas agent started on host"
"""What the agent logs once it serves (``lbaas/agent/service.py``)."""
PREPARED_LINE = "prepared its host"
"""What the agent logs once its host is prepared (stale copies fenced), before it connects."""

BROKER_DOWN = re.compile(r"impl_rabbit .*Connection failed")
"""What oslo.messaging logs while the broker is unreachable."""

AgentView = Callable[[str], "dict[str, Any] | None"]
"""host -> its entry of ``GET /v2.0/agents`` (None when the server does not know it)."""


def utc_now() -> dt.datetime:
    """Now in naive UTC whole seconds (the resolution of the agents' heartbeat timestamps)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _heartbeat(agent: dict[str, Any]) -> dt.datetime:
    return dt.datetime.strptime(agent["heartbeat_timestamp"], "%Y-%m-%d %H:%M:%S")


class Node:
    """``node-<index>``: build with :meth:`build`, then :meth:`start_agent`."""

    def __init__(self, lab: Lab, index: int, *, directory: Path, pin: Path, cgroup: Cgroup,
                 mgmt_bridge: str, mgmt_address: str, provider_bridge: str, config: Path,
                 agent_view: AgentView) -> None:
        self.lab = lab
        self.index = index
        self.name = f"node-{index}"
        self.netns = lab.name(f"n{index}")
        self.directory = directory
        self.pin = pin
        self.cgroup = cgroup
        self.mgmt_bridge = mgmt_bridge
        self.mgmt_address = mgmt_address
        self.provider_bridge = provider_bridge
        self.config = config
        self.mgmt_outer = self.netns + "m"
        self.provider_outer = self.netns + "p"
        self._agent_view = agent_view
        self.agent: subprocess.Popen[bytes] | None = None
        self.lost = False

    def __repr__(self) -> str:
        return f"Node({self.name}, netns={self.netns})"

    @property
    def log(self) -> Path:
        """The agent's output (every start appends)."""
        return self.directory / "agent.log"

    @property
    def state_path(self) -> Path:
        return self.directory

    # -- building ----------------------------------------------------------------------------

    def build(self) -> None:
        """Create the namespace, its uplinks, its mount namespace and its cgroup; register
        their removal (and the node's processes' end) on the lab."""
        lab = self.lab
        self.directory.mkdir(parents=True, exist_ok=True)
        ensure_namespace(self.netns)
        lab.defer(delete_namespace, self.netns)
        with iproute() as root:
            for outer, inner, bridge in ((self.mgmt_outer, "mgmt0", self.mgmt_bridge),
                                         (self.provider_outer, "prov0", self.provider_bridge)):
                root.link("add", ifname=outer, kind="veth",
                          peer={"ifname": inner, "net_ns_fd": self.netns})
                lab.defer(_delete_link, outer)
                root.link("set", index=root.link_lookup(ifname=outer)[0],
                          master=root.link_lookup(ifname=bridge)[0], state="up")
        ip, prefixlen = self.mgmt_address.split("/")
        with iproute(self.netns) as inner:
            inner.link("set", index=inner.link_lookup(ifname="lo")[0], state="up")
            mgmt = inner.link_lookup(ifname="mgmt0")[0]
            inner.addr("add", index=mgmt, address=ip, prefixlen=int(prefixlen))
            inner.link("set", index=mgmt, state="up")
            inner.link("add", ifname=LOCAL_BRIDGE, kind="bridge")
            bridge = inner.link_lookup(ifname=LOCAL_BRIDGE)[0]
            inner.link("set", index=bridge, state="up")
            inner.link("set", index=inner.link_lookup(ifname="prov0")[0], master=bridge,
                       state="up")
        mountns.create(self.pin)
        lab.defer(mountns.release, self.pin)
        self.cgroup.create()
        lab.defer(self.cgroup.remove)
        lab.defer(self.stop_all)

    # -- running things inside ---------------------------------------------------------------

    def exec_argv(self) -> list[str]:
        """Command prefix that runs a program inside this node (its mount and network
        namespaces; not its cgroup)."""
        return mountns.enter_argv(self.pin, self.netns)

    def run(self, argv: list[str], timeout: float = 30.0, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside this node to completion (CalledProcessError on failure when
        ``check``)."""
        return subprocess.run([*self.exec_argv(), *argv], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, check=check)

    def namespaces(self) -> list[str]:
        """The ``qlbaas-*`` namespaces inside this node."""
        return [n for n in mountns.netns_names(self.pin) if n.startswith(NS_PREFIX)]

    def pids(self) -> list[int]:
        """Every process of this node (agent and haproxy)."""
        return self.cgroup.pids()

    def haproxy_pids(self) -> list[int]:
        """The node's processes other than its agent."""
        agent = self.agent.pid if self.agent_running() and self.agent else None
        return [pid for pid in self.pids() if pid != agent]

    # -- the agent ---------------------------------------------------------------------------

    def agent_running(self) -> bool:
        return self.agent is not None and self.agent.poll() is None

    def spawn_agent(self) -> int:
        """Start ``lbaas agent`` inside the node and its cgroup; returns the log offset its
        output starts at. Does not wait."""
        if self.agent_running():
            raise RuntimeError(f"the agent of {self.name} runs already")
        reap(self.agent)
        offset = log_size(self.log)
        with open(self.log, "ab") as out:
            out.write(f"\n===== agent start {time.strftime('%H:%M:%S')} =====\n".encode())
        self.agent = spawn_logged([*self.exec_argv(), LBAAS, "agent", "-c", str(self.config)],
                                  self.log, self.cgroup, child_env())
        return offset

    def wait_started(self, offset: int, timeout: float = 60.0) -> None:
        """Wait until the agent logged :data:`STARTED_LINE` after ``offset``."""
        wait_until(lambda: STARTED_LINE in log_since(self.log, offset), timeout,
                   f"the agent of {self.name} to start", alive=self._agent_exit)

    def wait_alive(self, since: dt.datetime, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the server lists this node's agent alive with a heartbeat not older than
        ``since`` (UTC, whole seconds); returns its entry."""

        def alive() -> dict[str, Any] | None:
            agent = self._agent_view(self.name)
            return agent if agent and agent["alive"] and _heartbeat(agent) >= since else None

        found: dict[str, Any] = wait_until(alive, timeout, f"{self.name} to report alive",
                                           interval=0.2, alive=self._agent_exit)
        return found

    def start_agent(self, wait: bool = True, timeout: float = 60.0) -> None:
        """Start the agent; with ``wait``, until it started and the server lists it alive."""
        since = utc_now()
        offset = self.spawn_agent()
        if wait:
            self.wait_started(offset, timeout)
            self.wait_alive(since, timeout)

    def kill_agent(self) -> None:
        """SIGKILL the agent process only: its haproxies keep serving."""
        if self.agent is None or self.agent.poll() is not None:
            raise RuntimeError(f"the agent of {self.name} is not running")
        self.agent.send_signal(signal.SIGKILL)
        self.agent.wait(10)

    def stop_agent(self, timeout: float = 30.0) -> int:
        """SIGTERM the agent (a clean stop) and wait for it; returns its exit code."""
        if self.agent is None or self.agent.poll() is not None:
            raise RuntimeError(f"the agent of {self.name} is not running")
        self.agent.send_signal(signal.SIGTERM)
        return self.agent.wait(timeout)

    def _agent_exit(self) -> str | None:
        if self.agent is not None and self.agent.poll() is not None:
            return f"the agent of {self.name} exited with {self.agent.returncode}: " \
                   f"{tail(self.log)}"
        return None

    # -- faults ------------------------------------------------------------------------------

    def cut_network(self) -> None:
        """Set both root-side veth ends down: the node reaches neither the broker nor the
        provider network (and nothing reaches its VIPs)."""
        self._set_uplinks("down")

    def restore_network(self) -> None:
        """Set both root-side veth ends up again."""
        self._set_uplinks("up")
        self.lost = False

    def cut_provider(self) -> None:
        """Set only the provider uplink down: the node keeps its management network (its agent
        reports, nothing moves) but is cut from the VIP network and the other nodes' copies (a
        partition between two keepalived peers)."""
        self._set_uplinks("down", (self.provider_outer,))

    def restore_provider(self) -> None:
        self._set_uplinks("up", (self.provider_outer,))

    def _set_uplinks(self, state: str, outers: tuple[str, ...] | None = None) -> None:
        with iproute() as root:
            for outer in outers or (self.mgmt_outer, self.provider_outer):
                root.link("set", index=root.link_lookup(ifname=outer)[0], state=state)

    def lose(self) -> None:
        """Lose the node: at once its network is cut and every process of it (agent, every
        haproxy) is killed. Its ``qlbaas-*`` namespaces stay (as on a machine that lost power
        and comes back with stale state)."""
        self.cut_network()
        self.stop_all()
        self.lost = True

    def come_back(self, cut_for: float = 30.0, timeout: float = 60.0,
                  line: str = PREPARED_LINE) -> str:
        """A lost node returns: its agent starts with the network still cut (what it does
        first, such as fencing stale copies, happens before it hears anything); the network is
        restored once the agent logged ``line`` or is seen blocked on the broker (oslo.messaging
        logs a failed connection: nothing more happens offline), at the latest after ``cut_for``
        seconds; returns when the server lists it alive again.

        Returns what ended the cut: ``"line"``, ``"broker"`` or ``"timeout"``. (The agent logs
        :data:`PREPARED_LINE` before it connects to the broker: ``"line"``.)"""
        since = utc_now()
        offset = self.spawn_agent()

        def offline_done() -> str | None:
            text = log_since(self.log, offset)
            if line in text:
                return "line"
            return "broker" if BROKER_DOWN.search(text) else None

        try:
            ended: str = wait_until(offline_done, cut_for, f"the agent of {self.name} to start",
                                    alive=self._agent_exit)
        except TimeoutError:
            ended = "timeout"
        finally:
            self.restore_network()
        self.wait_started(offset, timeout)
        self.wait_alive(since, timeout)
        return ended

    def stop_all(self) -> None:
        """Kill every process of the node (its cgroup) and reap the agent."""
        self.cgroup.kill()
        reap(self.agent)

    def link_states(self) -> dict[str, bool]:
        """Whether each root-side uplink is up (admin state)."""
        with iproute() as root:
            states = {}
            for outer in (self.mgmt_outer, self.provider_outer):
                link = root.link("get", index=root.link_lookup(ifname=outer)[0])[0]
                states[outer] = bool(link["flags"] & 1)
            return states

    def processes(self) -> dict[int, str]:
        """pid -> command line of every process of the node."""
        found = {}
        for pid in self.pids():
            try:
                found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ") \
                    .decode(errors="replace").strip()
            except OSError:
                continue
        return found

