"""Two copies of an ACTIVE_STANDBY load balancer, each a real haproxy and a real keepalived from
lbaas.drivers.keepalived, in two namespaces on one Linux bridge, and a client namespace.

The copies' namespaces cannot both be ``qlbaas-<id>`` on one host: they are lab hosts
(``lbt<tag>a``, ``lbt<tag>b``, each ``eth0`` holding its ``vrrp_ip`` as the agent's plug leaves
it, ``ip_nonlocal_bind=1``) and each copy has its own state path, as on two network nodes. Each
haproxy answers on the VIP with the name of its copy, so the client sees who holds the VIP.

What is asserted is behaviour (who holds the VIP, what the client gets, what ``role()`` says),
polled with deadlines; the takeover times are logged (``-o log_cli=true --log-cli-level=INFO``)
and recorded as properties, never compared with a threshold. Everything made here (processes,
namespaces, veths, bridge, state directories) is removed even when a test fails, and checked
to be gone; processes are stopped through their own pid files, never by name.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lbaas.core.amphora import VRRP_PRIORITIES, Role
from lbaas.core.tree import AmphoraNode, LoadBalancerTree, SourceAddressNode, SubnetNode
from lbaas.drivers.haproxy.process import Action as HaproxyAction
from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.drivers.interface.namespaces import nsenter_argv, write_sysctl
from lbaas.drivers.keepalived.config import VrrpSettings, render_keepalived_config
from lbaas.drivers.keepalived.process import (
    Action,
    ConfigRejected,
    KeepalivedError,
    KeepalivedProcess,
)
from tests.netlab import Host, Lab, http_get_here, skip_unless_root_and_tools

pytestmark = [pytest.mark.e2e,
              skip_unless_root_and_tools("ip", "haproxy", "keepalived", "nsenter", "socat")]

LOG = logging.getLogger(__name__)

SUBNET = "10.232.0"
VIP = f"{SUBNET}.100"
SOURCE = "fd00:232::100"
"""A source address of the other family, as on a dual-stack VIP network."""
SETTINGS = VrrpSettings()  # the [keepalived] defaults: advert 1 s, check 1 s, fall 1, rise 2
DEADLINE = 30.0
"""Seconds any awaited change may take before the test fails (generous: a shared machine)."""
STEADY = 4.0
"""Seconds during which something must *not* change (several advert intervals)."""


def haproxy_config(proc: HaproxyProcess, answer: str) -> str:
    return f"""\
global
    maxconn 100
    stats socket {proc.paths.stats_socket} mode 600 level admin expose-fd listeners

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend vip
    bind {VIP}:80
    http-request return status 200 content-type text/plain string {answer}
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


@dataclass
class Copy:
    name: str  # "a" or "b": also what its haproxy answers
    host: Host
    amphora: AmphoraNode
    state_path: Path
    haproxy: HaproxyProcess
    keepalived: KeepalivedProcess
    pids: set[int] = field(default_factory=set)
    """Every process of this copy seen during the test (checked gone at the end)."""

    def render(self, tree: LoadBalancerTree, settings: VrrpSettings = SETTINGS) -> str:
        return render_keepalived_config(tree, self.amphora, tree.peer_of(self.amphora),
                                        self.keepalived.paths, settings)

    def start_haproxy(self) -> None:
        assert self.haproxy.apply(haproxy_config(self.haproxy, self.name)) is HaproxyAction.STARTED
        info = self.haproxy.proc_info()
        assert info is not None
        self.pids.update([info.master_pid, *(pid for pid, _ in info.workers)])

    def kill_haproxy(self) -> None:
        info = self.haproxy.proc_info()
        assert info is not None
        for pid in (info.master_pid, *(pid for pid, _ in info.workers)):
            os.kill(pid, signal.SIGKILL)

    def apply_keepalived(self, pair: Pair, settings: VrrpSettings = SETTINGS,
                         tree: LoadBalancerTree | None = None) -> Action:
        action = self.keepalived.apply(self.render(tree or pair.tree, settings))
        self.note_keepalived_pids()
        return action

    def note_keepalived_pids(self) -> None:
        self.pids.update(p for p in (self.keepalived.pid(), self.keepalived.vrrp_pid()) if p)

    def holds_vip(self) -> bool:
        return self.keepalived.held_addresses([VIP]) == [VIP]

    def holds_source(self) -> bool:
        return self.keepalived.held_addresses([SOURCE]) == [SOURCE]


@dataclass
class Pair:
    lab: Lab
    tree: LoadBalancerTree
    a: Copy
    b: Copy
    client: Host

    @property
    def copies(self) -> tuple[Copy, Copy]:
        return (self.a, self.b)

    def other(self, copy: Copy) -> Copy:
        return self.b if copy is self.a else self.a

    def answer(self) -> str | None:
        """What the client gets from the VIP on a new connection (None: nothing)."""
        try:
            return self.client.call(http_get_here, VIP, 80, "/", 0.5)
        except (OSError, RuntimeError):
            return None

    def holders(self) -> list[str]:
        return [copy.name for copy in self.copies if copy.holds_vip()]


def eventually(what: str, predicate: Callable[[], bool], timeout: float = DEADLINE) -> float:
    """Poll ``predicate`` until true; returns the seconds it took (fails after ``timeout``)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def steadily(what: str, predicate: Callable[[], bool], duration: float = STEADY) -> None:
    """``predicate`` holds at every poll for ``duration`` seconds."""
    end = time.monotonic() + duration
    while time.monotonic() < end:
        assert predicate(), f"no longer true: {what}"
        time.sleep(0.1)


def wait_for_master(pair: Pair) -> tuple[Copy, Copy]:
    """Wait until exactly one copy holds the VIP, says MASTER, the other says BACKUP, and the
    client gets the master's answer; returns (master, backup)."""
    found: list[Copy] = []

    def settled() -> bool:
        holders = pair.holders()
        if len(holders) != 1:
            return False
        master = pair.a if holders == ["a"] else pair.b
        backup = pair.other(master)
        if master.keepalived.role() is not Role.MASTER:
            return False
        if backup.keepalived.role() is not Role.BACKUP:
            return False
        if pair.answer() != master.name:
            return False
        found[:] = [master, backup]
        return True

    eventually("one MASTER holding the VIP, one BACKUP, the client served by the MASTER",
               settled)
    return found[0], found[1]


def takeover(pair: Pair, to: Copy, what: str, record: Callable[[str, object], None],
             since: float | None = None) -> float:
    """Seconds from ``since`` (a ``time.monotonic()``; default now) until the client gets
    ``to``'s answer through the VIP."""
    start = time.monotonic() if since is None else since
    eventually(f"{to.name} answers on the VIP after {what}", lambda: pair.answer() == to.name)
    seconds = time.monotonic() - start
    LOG.info("takeover after %s: %.2f s", what, seconds)
    record(f"takeover after {what} (s)", round(seconds, 2))
    return seconds


def keepalived_pids(copy: Copy) -> list[int]:
    return [pid for pid in (copy.keepalived.pid(), copy.keepalived.vrrp_pid()) if pid]


@pytest.fixture
def pair() -> Iterator[Pair]:
    lab = Lab()
    state_paths: list[Path] = []
    copies: list[Copy] = []
    try:
        bridge = lab.bridge("br")
        client = lab.host("cl", bridge, f"{SUBNET}.50/24")
        hosts = {name: lab.host(name, bridge, f"{SUBNET}.{11 + i}/24")
                 for i, name in enumerate("ab")}
        lb_id = f"{lab.prefix}-pair"
        amphorae = [
            AmphoraNode(id=f"{lab.prefix}-amp-{name}", position=i, host=f"node-{name}",
                        vrrp_ip=f"{SUBNET}.{11 + i}", vrrp_priority=VRRP_PRIORITIES[i],
                        status="ALLOCATED")
            for i, name in enumerate("ab")
        ]
        tree = LoadBalancerTree(
            id=lb_id, project_id="p", vip_address=VIP, vip_network_id="n",
            vip_subnet={"id": "s", "network_id": "n", "cidr": f"{SUBNET}.0/24"},
            provisioning_status="ACTIVE", topology="ACTIVE_STANDBY", amphorae=amphorae,
        )
        for name, amphora in zip("ab", amphorae, strict=True):
            host = hosts[name]
            write_sysctl("net.ipv4.ip_nonlocal_bind", 1, namespace=host.namespace)
            # Short on purpose: AF_UNIX socket paths are limited to 107 bytes.
            state_path = Path(tempfile.mkdtemp(prefix="lbt"))
            state_paths.append(state_path)
            prefix = nsenter_argv(host.namespace)
            copy = Copy(
                name=name, host=host, amphora=amphora, state_path=state_path,
                haproxy=HaproxyProcess(lb_id, state_path, exec_prefix=prefix),
                keepalived=KeepalivedProcess(lb_id, state_path, exec_prefix=prefix,
                                             namespace=host.namespace),
            )
            copies.append(copy)
            # Stopped before the lab deletes the namespaces (cleanups run last first).
            lab.defer(copy.haproxy.stop, 5.0, False)
            lab.defer(copy.keepalived.stop, True, 5.0)
        built = Pair(lab, tree, copies[0], copies[1], client)
        for copy in copies:
            copy.start_haproxy()
        for copy in copies:
            assert copy.apply_keepalived(built) is Action.STARTED
        yield built
    finally:
        try:
            lab.close()  # also checks that no namespace or link of the lab is left
        finally:
            for state_path in state_paths:
                shutil.rmtree(state_path, ignore_errors=True)
        left = {copy.name: [pid for pid in sorted(copy.pids) if _alive(pid)] for copy in copies}
        assert not any(left.values()), f"processes left behind: {left}"
        assert not any(path.exists() for path in state_paths)


# --- tests ------------------------------------------------------------------------------------


def test_one_copy_holds_the_vip_and_the_files_are_private(pair: Pair) -> None:
    master, _ = wait_for_master(pair)
    LOG.info("elected MASTER: %s", master.name)
    steadily("one holder, the MASTER", lambda: pair.holders() == [master.name])
    for copy in pair.copies:
        paths = copy.keepalived.paths
        assert paths.config.stat().st_mode & 0o777 == 0o600
        assert paths.directory.stat().st_mode & 0o777 == 0o700
        for script in (paths.check_script, paths.notify_script):
            assert script.stat().st_mode & 0o777 == 0o700
            assert script.stat().st_uid == 0
        assert paths.scripts_directory.stat().st_mode & 0o777 == 0o755
        # The other copy's keepalived is not this copy's, though it has the same id and config
        # name: judged by pid file, config path and namespace.
        assert copy.keepalived.pid() != pair.other(copy).keepalived.pid()


def test_a_failed_haproxy_moves_the_vip_and_it_does_not_come_back(
    pair: Pair, record_property: Callable[[str, object], None]
) -> None:
    master, backup = wait_for_master(pair)
    master.kill_haproxy()
    takeover(pair, backup, "the MASTER's haproxy was killed", record_property)
    eventually("the old MASTER gives the VIP up and reports FAULT",
               lambda: pair.holders() == [backup.name]
               and master.keepalived.role() is Role.FAULT)
    assert backup.keepalived.role() is Role.MASTER

    master.start_haproxy()
    eventually("the old MASTER's check passes again: BACKUP",
               lambda: master.keepalived.role() is Role.BACKUP)
    # nopreempt: it stays BACKUP even with the higher priority or the older claim.
    steadily("no takeover back",
             lambda: pair.holders() == [backup.name]
             and backup.keepalived.role() is Role.MASTER
             and master.keepalived.role() is Role.BACKUP)
    assert pair.answer() == backup.name


def test_a_stopped_keepalived_hands_the_vip_over(
    pair: Pair, record_property: Callable[[str, object], None]
) -> None:
    master, backup = wait_for_master(pair)
    since = time.monotonic()
    master.keepalived.stop()  # SIGTERM: a priority 0 advert, the VIP removed; waits for the exit
    assert not master.keepalived.is_running()
    assert master.keepalived.role() is None
    takeover(pair, backup, "SIGTERM to the MASTER's keepalived", record_property, since)
    eventually("the VIP only on the new MASTER", lambda: pair.holders() == [backup.name])
    assert backup.keepalived.role() is Role.MASTER

    # Started again, it joins as BACKUP.
    assert master.apply_keepalived(pair) is Action.STARTED
    eventually("the restarted copy is BACKUP", lambda: master.keepalived.role() is Role.BACKUP)
    steadily("the VIP stays", lambda: pair.holders() == [backup.name])

    # remove_state deletes keepalived's files, not haproxy's.
    master.keepalived.remove_state()
    paths = master.keepalived.paths
    assert not any(path.exists() for path in paths.own_files())
    assert master.haproxy.paths.config.exists()
    eventually("the VIP only on the remaining copy", lambda: pair.holders() == [backup.name])


def test_a_killed_keepalived_leaves_the_vip_until_released(
    pair: Pair, record_property: Callable[[str, object], None]
) -> None:
    master, backup = wait_for_master(pair)
    pids = keepalived_pids(master)
    assert len(pids) == 2
    since = time.monotonic()
    # As the OOM killer or kill -9 of the group: stopped first, so that the VRRP child never
    # runs again (it would see its parent die and clean up).
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            os.kill(pid, sig)
    eventually("the killed keepalived is gone", lambda: not any(_alive(p) for p in pids))
    assert not master.keepalived.is_running()
    assert master.keepalived.role() is None

    # The peer takes over after missing three adverts; the VIP is still on the dead copy's eth0.
    seconds = eventually("the peer takes the VIP while the dead copy still holds it",
                         lambda: pair.holders() == ["a", "b"]
                         and backup.keepalived.role() is Role.MASTER)
    LOG.info("the peer holds the VIP too %.2f s after SIGKILL of the MASTER's keepalived",
             seconds)
    record_property("second holder after SIGKILL of keepalived (s)", round(seconds, 2))
    # The new MASTER's gratuitous ARP turns the client to it.
    takeover(pair, backup, "SIGKILL of the MASTER's keepalived", record_property, since)
    assert master.holds_vip()

    assert master.keepalived.release_vip([VIP]) == [VIP]
    assert pair.holders() == [backup.name]
    assert master.keepalived.release_vip([VIP]) == []  # idempotent
    eventually("the client reaches the new MASTER", lambda: pair.answer() == backup.name)

    # Started again (its stale pid files are not taken for a running keepalived), as BACKUP.
    assert master.apply_keepalived(pair) is Action.STARTED
    eventually("the restarted copy is BACKUP", lambda: master.keepalived.role() is Role.BACKUP)
    steadily("the VIP stays", lambda: pair.holders() == [backup.name])


def test_release_vip_refuses_while_keepalived_runs(pair: Pair) -> None:
    master, _ = wait_for_master(pair)
    with pytest.raises(KeepalivedError, match="running"):
        master.keepalived.release_vip([VIP])
    assert master.holds_vip()


def test_reload_keeps_the_roles(pair: Pair) -> None:
    master, backup = wait_for_master(pair)
    pids = {copy.name: (copy.keepalived.pid(), copy.keepalived.vrrp_pid())
            for copy in pair.copies}

    for copy in pair.copies:
        assert copy.apply_keepalived(pair) is Action.UNCHANGED
    assert {c.name: (c.keepalived.pid(), c.keepalived.vrrp_pid()) for c in pair.copies} == pids

    # A change keepalived shows once it has read it: a source address for the MASTER to hold.
    dual_stack = pair.tree.model_copy(update={"source_addresses": [SourceAddressNode(
        address=SOURCE,
        subnet=SubnetNode(id="s6", network_id="n", cidr="fd00:232::/64", ip_version=6),
    )]})
    changed = VrrpSettings(check_fall=2, check_rise=3)
    for copy in pair.copies:
        assert copy.apply_keepalived(pair, changed, dual_stack) is Action.RELOADED
        assert "    fall 2" in copy.keepalived.paths.config.read_text()
    eventually("the MASTER holds the source address", master.holds_source)
    steadily("the roles survive the reload",
             lambda: pair.holders() == [master.name]
             and master.holds_source() and not backup.holds_source()
             and master.keepalived.role() is Role.MASTER
             and backup.keepalived.role() is Role.BACKUP)
    assert {c.name: (c.keepalived.pid(), c.keepalived.vrrp_pid()) for c in pair.copies} == pids
    assert pair.answer() == master.name

    # The source address moves with the VIP.
    master.kill_haproxy()
    eventually("the VIP and the source address move together",
               lambda: pair.holders() == [backup.name]
               and backup.holds_source() and not master.holds_source())


def test_a_rejected_config_leaves_the_running_one(pair: Pair) -> None:
    master, _ = wait_for_master(pair)
    good = master.keepalived.paths.config.read_text()
    broken = good.replace("interface eth0", "interface eth9")  # no such interface in there
    with pytest.raises(ConfigRejected, match="eth9"):
        master.keepalived.apply(broken)
    assert master.keepalived.paths.config.read_text() == good
    assert master.keepalived.paths.failed_config.read_text() == broken
    assert master.keepalived.role() is Role.MASTER
    assert master.keepalived.apply(good) is Action.UNCHANGED


def test_a_copy_without_a_peer_runs_alone(pair: Pair) -> None:
    for copy in pair.copies:
        copy.keepalived.stop()
    assert pair.holders() == []
    alone = pair.tree.model_copy(update={"amphorae": [pair.a.amphora]})
    # Its adverts go to 127.0.0.1, inside its namespace (keepalived 2.2.7 has no unicast
    # without a peer): keepalived -t accepts the config, and the copy takes the VIP.
    assert pair.a.apply_keepalived(pair, tree=alone) is Action.STARTED
    eventually("the lone copy is MASTER and serves the VIP",
               lambda: pair.a.keepalived.role() is Role.MASTER
               and pair.holders() == ["a"] and pair.answer() == "a")
