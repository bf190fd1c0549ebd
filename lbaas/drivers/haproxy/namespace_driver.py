"""The device driver of one agent host: HAProxy in a network namespace per load balancer.

The agent manager (:mod:`lbaas.agent.manager`) calls it from its work queue, one call at a time
per load balancer. It glues together the pieces that each do one job: the interface driver puts
the VIP into namespace ``qlbaas-<lb_id>`` (:mod:`lbaas.drivers.interface.vip_plug`), the renderer
turns the tree into haproxy.cfg (:mod:`.render`, from the view built by :mod:`.view`), the
process manager validates, installs and starts or reloads haproxy inside the namespace
(:mod:`.process`, files laid out by :mod:`.state_paths`; a change of members only goes
through the running haproxy's runtime API instead, :mod:`.runtime_plan` and
:mod:`.runtime_apply`; the certificates, keys, CA and CRL files the config names are written
first by :mod:`.tls_files`, and those it no longer names removed once haproxy runs it), and the
stats client reads it back
(:mod:`.stats`). A copy of an ACTIVE_STANDBY load balancer also runs keepalived
(:mod:`lbaas.drivers.keepalived`): its VIP interface holds the copy's own VRRP address, and
keepalived moves the VIP between the two copies; haproxy shares its stick tables with the other
copy (``peers``).

Every method is idempotent: :meth:`HaproxyNamespaceDriver.deploy` is "exists -> update, else
create" (an unchanged config with haproxy running is a no-op), :meth:`undeploy` of something
already gone does nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import os
import time
from pathlib import Path
from typing import Any

from oslo_config import cfg

from lbaas.core.admin_events import Event, admin_event
from lbaas.core.amphora import Role
from lbaas.core.status import Operating
from lbaas.core.tree import AmphoraNode, LoadBalancerTree
from lbaas.drivers.haproxy import logs, render, tls_files
from lbaas.drivers.haproxy.process import Action, HaproxyProcess
from lbaas.drivers.haproxy.runtime_apply import Drains, RuntimeMismatch, apply_plan
from lbaas.drivers.haproxy.runtime_plan import plan_runtime_change
from lbaas.drivers.haproxy.state_paths import listener_metrics_socket, write_private
from lbaas.drivers.haproxy.stats import ServerStatus, StatsError, StatsSnapshot
from lbaas.drivers.haproxy.view import ConfigRuntimePaths
from lbaas.drivers.interface import probe, vip_plug
from lbaas.drivers.interface.namespaces import namespace_path
from lbaas.drivers.keepalived.config import VrrpSettings, render_keepalived_config
from lbaas.drivers.keepalived.process import KeepalivedProcess

LOG = logging.getLogger(__name__)

APPLIED_MARK = "haproxy.cfg.applied"
"""In each state directory: the SHA-256 of the config haproxy was last seen to start or reload
with. A ``haproxy.cfg`` that differs from it was installed by an agent that died before haproxy
loaded it."""

DEVICE_DRIVER_NAME = "haproxy_ns"
"""How agents name this driver in their state reports."""

MEMBER_HEALTH = {ServerStatus.UP: Operating.ONLINE, ServerStatus.DOWN: Operating.ERROR}
"""HAProxy server status -> member operating status the agent reports. Servers without checks,
in maintenance or draining are not reported: the server derives NO_MONITOR, OFFLINE and
DRAINING from the member's own settings."""


class HaproxyNamespaceDriver:
    """Deploys, inspects and removes the load balancers of this host."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.state_path = Path(conf.state_path)
        self.haproxy_bin: str = conf.agent.haproxy_bin
        self.max_connections: int = conf.agent.haproxy_max_connections
        self.keepalived_bin: str = conf.keepalived.keepalived_bin
        self.vrrp = VrrpSettings.from_conf(conf)
        self.log_socket = str(logs.log_socket_path(conf.state_path))
        self.access_log_socket = str(logs.access_socket_path(conf.state_path))
        self.access_logs: bool = conf.access_log.enabled
        self.access_log_fields = logs.select_fields(conf.access_log.fields)
        self.drains = Drains()
        # The master pid each load balancer's last passing is_healthy found (still_running).
        self._healthy_masters: dict[str, int] = {}

    @property
    def lbs_dir(self) -> Path:
        """``<state_path>/lbaas``: one state directory per deployed load balancer."""
        return self.state_path / "lbaas"

    def process(self, lb_id: str) -> HaproxyProcess:
        """The haproxy of ``lb_id`` (an object; nothing is started)."""
        return HaproxyProcess(
            lb_id,
            self.state_path,
            exec_prefix=vip_plug.netns_exec_argv(lb_id),
            haproxy_bin=self.haproxy_bin,
        )

    def keepalived(self, lb_id: str) -> KeepalivedProcess:
        """The keepalived of this host's copy of ``lb_id`` (an object; nothing is started)."""
        return KeepalivedProcess(lb_id, self.state_path,
                                 exec_prefix=vip_plug.netns_exec_argv(lb_id),
                                 keepalived_bin=self.keepalived_bin)

    def prepare_host(self) -> None:
        """Once at agent start, before the agent hears from the server: raise the
        neighbour-table limits hundreds of namespaces need, and fence stopped copies."""
        vip_plug.raise_neighbour_table_limits()
        self.fence_stopped()

    def fence_stopped(self) -> list[str]:
        """Disconnect the VIP of every load balancer here whose haproxy is not running; returns
        their ids.

        A node that comes back after being lost (its processes killed) still holds the
        namespaces and VIPs of load balancers the server has meanwhile rebuilt elsewhere: left
        connected, they would answer ARP for addresses that now live on another node. A copy
        without haproxy serves nothing, so disconnecting it costs nothing; the first sync plugs
        it again if the server still places it here, or removes it. A running haproxy (an agent
        restart on a healthy node) is left serving.
        """
        fenced = []
        for lb_id in sorted(self.deployed_ids()):
            if not self.is_healthy(lb_id) and vip_plug.disconnect_vip(lb_id):
                fenced.append(lb_id)
        if fenced:
            LOG.warning("fenced %d load balancers whose haproxy is not running until the "
                        "server confirms them: %s", len(fenced), ", ".join(fenced))
        return fenced

    def answering(self, bridge: str, addresses: list[str]) -> set[str]:
        """Which of ``addresses`` some host on ``bridge`` answers for (:mod:`.probe`)."""
        return probe.answering(bridge, addresses)

    # -- changes -------------------------------------------------------------------------------

    def deploy(self, tree: LoadBalancerTree, bridge: str,
               copy: AmphoraNode | None = None) -> Action:
        """Make ``tree`` run: VIP plugged into ``bridge``, haproxy serving its config.

        ``copy``: this host's copy of an ACTIVE_STANDBY load balancer. Its VIP interface then
        holds the copy's VRRP address, the VIP floats (keepalived adds it on the copy that
        holds it), and keepalived runs with the other copy as its peer; a keepalived found dead
        first gives up the VIP it may have left behind.

        The config is rendered before anything is touched, so a tree that cannot be rendered
        (UnsafeConfigValue) changes nothing. A config that differs from the one haproxy runs
        in members only (added, removed, weight, admin state) is applied through haproxy's
        runtime API, after comparing it with the servers haproxy runs, and installed without a
        reload or ``haproxy -c``; anything else reloads. Its TLS files are written before
        ``haproxy -c`` and the ones the new config no longer names removed after haproxy runs
        it. A load balancer with admin_state_up False keeps its namespace and a haproxy without
        frontends (serving nothing).

        Raises UnsafeConfigValue or ValueError (bad tree), ConfigRejected (``haproxy -c``
        refused it, with haproxy's message), vip_plug.InterfaceError (no such bridge), HaproxyError
        (start or reload failed), OSError or pyroute2's NetlinkError (the kernel refused).
        """
        proc = self.process(tree.id)
        paths = ConfigRuntimePaths(
            stats_socket=str(proc.paths.stats_socket),
            server_state_file=str(proc.paths.servers_state),
            metrics_socket=str(proc.paths.metrics_socket),
            listener_metrics_socket=str(listener_metrics_socket(self.state_path)),
            log_socket=self.log_socket,
            access_log_socket=self.access_log_socket,
        )
        files = tls_files.plan_tls_files(tree, proc.paths.certs)
        text = render.render_haproxy_config(tree, paths, max_connections=self.max_connections,
                                            copy=copy, tls_files=files,
                                            access_logs=self.access_logs,
                                            access_log_fields=self.access_log_fields)
        keepalived = self.keepalived(tree.id) if copy is not None else None
        vrrp_text = None
        if copy is not None and keepalived is not None:
            vrrp_text = render_keepalived_config(tree, copy, tree.peer_of(copy),
                                                 keepalived.paths, self.vrrp)
        subnet = ipaddress.ip_network(tree.vip_subnet.cidr, strict=False)
        # The state directory first: every namespace this driver makes has one (deployed_ids).
        proc.ensure_directory()
        in_own = self._in_own_namespace(proc)
        if in_own is False:
            # Its namespace was deleted (or replaced): that haproxy can never serve the VIP again.
            LOG.warning("haproxy of %s runs outside namespace %s: restarting it", tree.id,
                        vip_plug.namespace_name(tree.id))
            proc.stop(graceful=False)
        vip_plug.plug_vip(
            tree.id,
            bridge,
            copy.vrrp_ip if copy is not None else tree.vip_address,
            subnet.prefixlen,
            tree.vip_subnet.gateway_ip,
            floating=[tree.vip_address] if copy is not None else (),
            sources=[
                (
                    source.address,
                    ipaddress.ip_network(source.subnet.cidr, strict=False).prefixlen,
                    source.subnet.gateway_ip,
                )
                for source in tree.source_addresses
            ],
        )
        # New files under new names: the running config's files stay as they are until the new
        # config runs (a rejected config or a failed reload leaves them in use).
        tls_files.write_tls_files(files)
        started = time.monotonic()
        mark = proc.paths.directory / APPLIED_MARK
        marked = _read_mark(mark)
        action = self._update_at_runtime(proc, text, marked) if in_own else None
        if action is None:
            # A master just seen in its namespace runs: apply need not ask again.
            action = proc.apply(text, running=True if in_own else None)
        if action in (Action.STARTED, Action.RELOADED):
            self.drains.forget(tree.id)  # the new process runs none of the removed servers
        digest = hashlib.sha256(text.encode()).hexdigest()
        if action is Action.UNCHANGED and marked != digest:
            # haproxy.cfg already holds this text, but nothing confirms haproxy loaded it.
            LOG.info("haproxy of %s may not run its installed config: reloading", tree.id)
            proc.reload()
            action = Action.RELOADED
        if action is not Action.UNCHANGED:
            took = time.monotonic() - started
            event = {Action.STARTED: Event.HAPROXY_STARTED, Action.RELOADED:
                     Event.HAPROXY_RELOADED}.get(action, Event.HAPROXY_UPDATED)
            admin_event(event, tree.id, "haproxy of load balancer %s %s in %.3fs", tree.id,
                        action, took, duration_s=round(took, 6))
        if marked != digest:
            write_private(mark, digest)
        tls_files.prune_tls_files(files)
        if keepalived is not None and vrrp_text is not None:
            if not keepalived.is_running():
                keepalived.release_vip(self._floating(tree))
            keepalived.apply(vrrp_text)
        if action is not Action.UNCHANGED:
            LOG.info("load balancer %s deployed on %s (haproxy %s)", tree.id, bridge, action)
        return action

    def _update_at_runtime(self, proc: HaproxyProcess, text: str,
                           marked: str | None) -> Action | None:
        """Apply ``text`` through the running haproxy's runtime API and install it, when it
        differs from the config haproxy runs only in what that API changes (members: added,
        removed, weight, admin state); None when haproxy must reload (or nothing changed)."""
        try:
            current = proc.paths.config.read_text()
        except FileNotFoundError:
            return None
        if current == text or marked != hashlib.sha256(current.encode()).hexdigest():
            return None  # unchanged, or haproxy may not run the installed config
        plan = plan_runtime_change(current, text)
        if plan is None:
            return None
        try:
            drains = apply_plan(proc.stats(), plan, time.monotonic()) if plan else {}
        except RuntimeMismatch as exc:
            LOG.warning("haproxy of %s: %s; reloading", proc.lb_id, exc)
            return None
        except (StatsError, OSError) as exc:
            LOG.warning("haproxy of %s refused a runtime change (%s): reloading", proc.lb_id,
                        exc)
            return None
        proc.install(text)
        self.drains.update(proc.lb_id, drains)
        return Action.UPDATED

    @staticmethod
    def _floating(tree: LoadBalancerTree) -> list[str]:
        return [tree.vip_address, *(source.address for source in tree.source_addresses)]

    def hand_over(self, lb_id: str) -> None:
        """A planned switch: this copy's keepalived stops (SIGTERM: it sends a priority 0
        advert, so the other copy takes the VIP at once) and starts again as BACKUP. haproxy
        keeps running: established connections finish."""
        keepalived = self.keepalived(lb_id)
        keepalived.stop(graceful=True)
        keepalived.start()

    def copy_role(self, lb_id: str) -> str | None:
        """This copy's VRRP role (MASTER, BACKUP, FAULT; BACKUP while keepalived has not said
        yet); None when its keepalived does not run."""
        keepalived = self.keepalived(lb_id)
        role = keepalived.role()  # None as well when keepalived does not run
        if role is not None:
            return role
        return Role.BACKUP if keepalived.is_running() else None

    def undeploy(self, lb_id: str) -> None:
        """Stop keepalived (a copy of a pair: the other copy takes over at once) and haproxy,
        remove the VIP and namespace, delete the state directory. Idempotent."""
        self.keepalived(lb_id).stop(graceful=True)
        proc = self.process(lb_id)
        proc.stop()
        self.drains.forget(lb_id)
        self._healthy_masters.pop(lb_id, None)
        vip_plug.unplug_vip(lb_id)
        proc.remove_state()
        LOG.info("load balancer %s undeployed", lb_id)

    # -- state ---------------------------------------------------------------------------------

    def deployed_ids(self) -> set[str]:
        """Ids of the load balancers with a state directory here.

        A ``qlbaas-`` namespace without one is not ours: another deployment on this host (another
        state_path) made it (:meth:`deploy` creates the directory before the namespace and
        :meth:`undeploy` removes it last, so ours always have one).
        """
        with contextlib.suppress(FileNotFoundError):
            return {entry.name for entry in self.lbs_dir.iterdir() if entry.is_dir()}
        return set()

    def is_healthy(self, lb_id: str) -> bool:
        """True when the haproxy master of ``lb_id`` answers on its own socket and runs inside
        namespace ``qlbaas-<lb_id>`` (a namespace deleted by hand leaves haproxy running in a
        nameless one, where the VIP cannot reach it once the namespace is rebuilt)."""
        info = self.process(lb_id).proc_info()
        if info is not None and _in_namespace(info.master_pid, lb_id) is True:
            self._healthy_masters[lb_id] = info.master_pid
            return True
        self._healthy_masters.pop(lb_id, None)
        return False

    def still_running(self, lb_id: str) -> bool:
        """Cheap and without haproxy's help (two ``stat`` calls): the master the last passing
        :meth:`is_healthy` found still exists inside namespace ``qlbaas-<lb_id>``. False when
        unknown, gone or moved: ask :meth:`is_healthy`."""
        pid = self._healthy_masters.get(lb_id)
        return pid is not None and _in_namespace(pid, lb_id) is True

    def draining(self, lb_id: str) -> bool:
        """Whether removed or weight-0 servers of ``lb_id`` wait for their connections to end
        or for their drain timeout: the stats pass must read it (:meth:`collect` finishes
        them)."""
        return bool(self.drains.pending(lb_id))

    @staticmethod
    def _in_own_namespace(proc: HaproxyProcess) -> bool | None:
        """Whether the running haproxy master of ``proc`` is in its load balancer's namespace;
        None when no master answers."""
        info = proc.proc_info()
        return None if info is None else _in_namespace(info.master_pid, proc.lb_id)

    def collect(self, tree: LoadBalancerTree) -> dict[str, Any]:
        """Counters per listener and member health, as ``update_loadbalancer_stats`` wants them;
        first cuts the drains that are due and deletes the removed servers whose connections have
        ended (:class:`Drains`).

        Raises OSError or StatsError when haproxy's stats socket does not answer.
        """
        stats = self.process(tree.id).stats()
        self.drains.finish(tree.id, stats, time.monotonic())
        return stats_payload(tree, stats.show_stat())


def _in_namespace(pid: int, lb_id: str) -> bool | None:
    """Whether process ``pid`` runs in namespace ``qlbaas-<lb_id>``; None when it is gone, False
    when the namespace is."""
    try:
        running = os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return None  # it exited
    try:
        named = os.stat(namespace_path(vip_plug.namespace_name(lb_id)))
    except FileNotFoundError:
        return False
    return (running.st_dev, running.st_ino) == (named.st_dev, named.st_ino)


def _read_mark(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def stats_payload(tree: LoadBalancerTree, snapshot: StatsSnapshot) -> dict[str, Any]:
    """``{"listeners": {id: counters}, "members": {id: "ONLINE" | "ERROR"}}`` for ``tree``.

    A frontend is named after its listener, a backend after its pool and a server after its
    member; listeners and members haproxy does not run (disabled, skipped) are left out.
    """
    listeners: dict[str, dict[str, int]] = {}
    for listener in tree.listeners:
        frontend = snapshot.frontends.get(listener.id)
        if frontend is not None:
            listeners[listener.id] = {
                "bytes_in": frontend.bin,
                "bytes_out": frontend.bout,
                "active_connections": frontend.scur,
                "total_connections": frontend.stot,
                "request_errors": frontend.ereq,
            }
    members: dict[str, str] = {}
    for pool in tree.pools:
        for member in pool.members:
            server = snapshot.servers.get((pool.id, member.id))
            health = MEMBER_HEALTH.get(server.status) if server is not None else None
            if health is not None:
                members[member.id] = health
    return {"listeners": listeners, "members": members}
