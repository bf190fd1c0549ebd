"""The baseline of ``bench.takeover``: a keepalived pair built by hand, without lbaas's server or
agents, on the benchmark's own bridge.

Two namespaces (``lbt<tag>ra``, ``lbt<tag>rb``) and a client namespace on a private bridge
(``bench.lab.open_lab``: a work directory with an ``owner.pid``, so that a run killed with
SIGKILL is swept by the next benchmark run), each copy with a tiny haproxy answering on the VIP
with its own name (``ip_nonlocal_bind``, as an amphora's) and a keepalived whose configuration
is what Octavia writes for an amphora pair: VRRP by unicast between the two copies' addresses,
both ``BACKUP`` with ``nopreempt``, priorities 100 and 90, a check of the local haproxy,
``advert_int 1`` (written by lbaas's own renderer,
``lbaas.drivers.keepalived.config.render_keepalived_config``, with
``VrrpSettings(advert_interval=...)``; it is also run at lbaas's default advert interval for a
like-for-like comparison). The processes are lbaas's ``HaproxyProcess`` and
``KeepalivedProcess``, started with ``nsenter`` into each namespace, their files under the work
directory.

The two faults measured, on whichever copy is MASTER: its link cut (the root end of its veth set
down: the peer hears nothing more and takes over after three missed adverts) and SIGTERM to its
keepalived (a priority 0 advert: the peer takes over at once). Between two faults the copy is
healed (link up, keepalived started again) and the pair settles with the other copy MASTER.

Everything is removed on the way out (``raw_pair`` is a context manager), also on errors,
Ctrl-C and SIGTERM (under ``bench.common.sigterm_exits``).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.lab import CLIENT_IP, NET, PREFIXLEN, open_lab, raw_ip, shielded
from bench.paced import OpenPaced
from lbaas.core.amphora import VRRP_PRIORITIES, Role
from lbaas.core.tree import AmphoraNode, LoadBalancerTree
from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.drivers.interface.namespaces import iproute, nsenter_argv, write_sysctl
from lbaas.drivers.keepalived.config import VrrpSettings, render_keepalived_config
from lbaas.drivers.keepalived.process import KeepalivedProcess
from tests.netlab import Host, Lab
from tests.nodelab.procs import wait_until

LOG = logging.getLogger(__name__)

LB_ID = "rawpair"
VIP = raw_ip(10)
SETTLE_TIMEOUT = 60.0
RECOVERY_TIMEOUT = 30.0
AFTER_RECOVERY_S = 0.5
"""Seconds the client keeps going after traffic came back (late failures would count)."""
JITTER_S = 1.0
"""A fault comes 0.2 s plus up to this many seconds (uniformly drawn) after the client started:
otherwise the repetitions' fixed rhythm would cut at the same phase of the VRRP adverts (and
of keepalived's checks and the agent's passes) every time (measured: a link cut 2.92-3.07 s in
20 repetitions, where the phase alone spreads it over a whole advert interval)."""
FAILURES_KEPT = 10
"""Failed attempts kept per repetition in the results: (start after the fault, seconds it took,
why), the first ones."""


def haproxy_config(proc: HaproxyProcess, answer: str) -> str:
    """A tiny haproxy that answers every request on the VIP with ``answer``."""
    return f"""\
global
    maxconn 1000
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


@dataclass
class RawCopy:
    name: str
    host: Host
    amphora: AmphoraNode
    haproxy: HaproxyProcess
    keepalived: KeepalivedProcess

    def holds_vip(self) -> bool:
        return self.keepalived.held_addresses([VIP]) == [VIP]

    def role(self) -> Role | None:
        return self.keepalived.role()

    def set_link(self, up: bool) -> None:
        """The root end of this copy's veth, up or down (down: its link is cut). RuntimeError
        if the veth is gone (something outside the run removed it)."""
        with iproute() as root:
            found = root.link_lookup(ifname=self.host.outer)
            if not found:
                raise RuntimeError(f"{self.host.outer} (the veth of copy {self.name}) is gone")
            root.link("set", index=found[0], state="up" if up else "down")

    def restore_link(self) -> None:
        """For the cleanup: the link up again, if the veth still exists."""
        with contextlib.suppress(RuntimeError):
            self.set_link(True)


class RawPair:
    """Two copies and a client; see the module's docstring."""

    def __init__(self, lab: Lab, tree: LoadBalancerTree, a: RawCopy, b: RawCopy,
                 client: Host) -> None:
        self.lab, self.tree, self.a, self.b, self.client = lab, tree, a, b, client
        self.settings = VrrpSettings()

    @property
    def copies(self) -> tuple[RawCopy, RawCopy]:
        return (self.a, self.b)

    def other(self, copy: RawCopy) -> RawCopy:
        return self.b if copy is self.a else self.a

    def render(self, copy: RawCopy) -> str:
        return render_keepalived_config(self.tree, copy.amphora, self.tree.peer_of(copy.amphora),
                                        copy.keepalived.paths, self.settings)

    def configure(self, advert_interval: float) -> None:
        """Both copies' keepalived on ``advert_interval`` (started, or reloaded), settled."""
        self.settings = VrrpSettings(advert_interval=advert_interval)
        for copy in self.copies:
            copy.keepalived.apply(self.render(copy))
        self.settled()

    def holders(self) -> list[str]:
        return [copy.name for copy in self.copies if copy.holds_vip()]

    def settled(self, quiet: float = 1.5) -> tuple[RawCopy, RawCopy]:
        """(MASTER, BACKUP) once one copy holds the VIP as MASTER, the other is BACKUP and the
        client gets the MASTER's answer, unchanged for ``quiet`` seconds."""

        def view() -> tuple[RawCopy, RawCopy] | None:
            held = self.holders()
            if len(held) != 1:
                return None
            master = self.a if held == ["a"] else self.b
            backup = self.other(master)
            if master.role() is not Role.MASTER or backup.role() is not Role.BACKUP:
                return None
            try:
                if self.client.http_get(VIP, timeout=1.0) != master.name:
                    return None
            except (OSError, RuntimeError):
                return None
            return master, backup

        give_up = time.monotonic() + SETTLE_TIMEOUT
        while True:
            first = wait_until(view, max(1.0, give_up - time.monotonic()),
                               "the raw pair to settle", interval=0.05)
            deadline = time.monotonic() + quiet
            while time.monotonic() < deadline and view() == first:
                time.sleep(0.1)
            if time.monotonic() >= deadline:
                return first
            if time.monotonic() > give_up:
                raise TimeoutError(f"the raw pair did not settle within {SETTLE_TIMEOUT:.0f} s")

    # -- the faults ---------------------------------------------------------------------------

    def link_cut(self) -> dict[str, Any]:
        """Cut the MASTER's link; the outage and failed attempts of a new connection every
        10 ms; then the link is restored and the pair settles again."""
        master, backup = self.settled()
        with OpenPaced(self.client, VIP, timeout=1.0) as traffic:
            jitter()
            began = time.monotonic()
            try:
                master.set_link(False)
                recovered = wait_recovered(traffic, began, lambda: backup.holds_vip())
                time.sleep(AFTER_RECOVERY_S)
            finally:
                master.restore_link()  # never raises: the error in flight, if any, goes on
            master.set_link(True)  # says so if the veth vanished
        return {**measured(traffic, began, recovered), "master": master.name}

    def keepalived_sigterm(self) -> dict[str, Any]:
        """SIGTERM to the MASTER's keepalived (it hands over with a priority 0 advert); then it
        is started again and the pair settles."""
        master, backup = self.settled()
        with OpenPaced(self.client, VIP, timeout=1.0) as traffic:
            jitter()
            began = time.monotonic()
            try:
                master.keepalived.stop()  # SIGTERM, waits for the exit
                recovered = wait_recovered(traffic, began, lambda: backup.holds_vip())
                time.sleep(AFTER_RECOVERY_S)
            except BaseException:
                with contextlib.suppress(Exception):  # the error in flight goes on
                    self._restart(master)
                raise
            self._restart(master)
        return {**measured(traffic, began, recovered), "master": master.name}

    def _restart(self, copy: RawCopy) -> None:
        if not copy.keepalived.is_running():
            copy.keepalived.apply(self.render(copy))


def jitter() -> None:
    """Wait a random part of :data:`JITTER_S` before a fault (after 0.2 s of traffic)."""
    time.sleep(0.2 + random.uniform(0.0, JITTER_S))


def wait_recovered(traffic: OpenPaced, began: float, moved: Callable[[], bool],
                   timeout: float = RECOVERY_TIMEOUT) -> float | None:
    """Wait until traffic came back after the fault (the first success after the first
    failure since ``began``), or ``moved`` says the VIP moved and a second passed with no
    failure at all; returns when traffic came back (None: nothing failed)."""
    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        back = traffic.recovered_after(began)
        if back is not None:
            return back
        if traffic.first_failure(began) is None and moved():
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.0:
                return None
        time.sleep(0.02)
    raise TimeoutError(f"traffic did not come back within {timeout:.0f} s")


def measured(traffic: OpenPaced, began: float, recovered: float | None) -> dict[str, Any]:
    """One repetition's figures: failed attempts, outage (first failure to first success),
    when the first failure and the recovery came after the fault (seconds), why attempts
    failed (counted) and the first few failures."""
    first = traffic.first_failure(began)
    failures = [[round(start - began, 4), round(end - start, 4), why]
                for start, end, body, why in traffic.attempts if body is None]
    return {
        "failed": traffic.failed, "attempts": len(traffic.outcomes),
        "outage_s": traffic.outage(began),
        "first_failure_after_s": None if first is None else first - began,
        "recovered_after_s": None if recovered is None else recovered - began,
        "errors": dict(traffic.errors),
        "failures": failures[:FAILURES_KEPT],
    }


@contextlib.contextmanager
def raw_pair(advert_interval: float = 1.0) -> Iterator[RawPair]:
    """The hand-built pair on its own bridge, settled; removed on the way out. When the block
    ends with an exception (SIGTERM's SystemExit, Ctrl-C's KeyboardInterrupt), a failing
    cleanup is logged and that exception goes on: a cleanup error must not turn an interrupted
    run into one that carries on."""
    stack = contextlib.ExitStack()
    try:
        lab, bridge, workdir = open_lab(stack)
        yield _build(lab, bridge, workdir, advert_interval)
    except BaseException:
        with shielded():
            try:
                stack.close()
            except Exception:
                LOG.exception("removing the raw keepalived pair failed")
        raise
    with shielded():
        stack.close()


def _build(lab: Lab, bridge: str, workdir: Path, advert_interval: float) -> RawPair:
    client = lab.host("cl", bridge, f"{CLIENT_IP}/{PREFIXLEN}")
    cidr = f"{NET}.0.0/{PREFIXLEN}"
    amphorae = [
        AmphoraNode(id=f"{LB_ID}-{name}", position=i, host=f"raw-{name}", vrrp_ip=raw_ip(i),
                    vrrp_priority=VRRP_PRIORITIES[i], status="ALLOCATED")
        for i, name in enumerate("ab")
    ]
    tree = LoadBalancerTree(
        id=LB_ID, project_id="bench", vip_address=VIP, vip_network_id="raw",
        vip_subnet={"id": "raw", "network_id": "raw", "cidr": cidr},
        provisioning_status="ACTIVE", topology="ACTIVE_STANDBY", amphorae=amphorae,
    )
    copies = []
    for name, amphora in zip("ab", amphorae, strict=True):
        host = lab.host(f"r{name}", bridge, f"{amphora.vrrp_ip}/{PREFIXLEN}")
        write_sysctl("net.ipv4.ip_nonlocal_bind", 1, namespace=host.namespace)
        state = workdir / name
        prefix = nsenter_argv(host.namespace)
        copy = RawCopy(name, host, amphora,
                       HaproxyProcess(LB_ID, state, exec_prefix=prefix),
                       KeepalivedProcess(LB_ID, state, exec_prefix=prefix,
                                         namespace=host.namespace))
        # Stopped before the lab deletes the namespaces (cleanups run last first).
        lab.defer(copy.haproxy.stop, 5.0, False)
        lab.defer(copy.keepalived.stop, True, 5.0)
        lab.defer(copy.restore_link)
        copies.append(copy)
    pair = RawPair(lab, tree, copies[0], copies[1], client)
    for copy in copies:
        copy.haproxy.apply(haproxy_config(copy.haproxy, copy.name))
    pair.configure(advert_interval)
    return pair
