"""The agent manager: turns the server's casts into "refresh load balancer X" and keeps this host
in line with what the server wants.

Built by :class:`lbaas.agent.service.AgentService`, which hands it the casts of topic
``lbaas_agent.<host>`` (through :mod:`lbaas.agent.endpoint`) and calls its periodic passes
(:meth:`AgentManager.report_state`, :meth:`AgentManager.sync_state`,
:meth:`AgentManager.collect_stats`, :meth:`AgentManager.retry_due`) from its own threads.

Every cast, whatever object it names, only submits the load balancer's id to a per-key work queue
(:mod:`lbaas.agent.workqueue`); the job fetches the current tree (a typed
:class:`lbaas.core.tree.LoadBalancerTree`) from the server and deploys it: one code path for
every object and action. A full sync fetches the trees of its load balancers in chunks
(``get_loadbalancers``, one RPC round trip per chunk) ahead of the jobs
(:mod:`lbaas.agent.prefetch`); a job uses such a tree only if no cast about its load balancer
arrived since the chunk was fetched. Failures fall in three classes:

* permanent (:data:`PERMANENT_ERRORS`: the tree cannot be read or rendered, haproxy refuses the
  config, no bridge carries the VIP network): ERROR with the reason the tenant can act on;
  nothing is retried until something changes (the periodic full sync still tries it);
* temporary (:data:`TEMPORARY_ERRORS`: the server unreachable, netlink or file errors): logged,
  retried with a growing delay (:mod:`lbaas.agent.retries`);
* bugs (any other exception): logged with its traceback and retried like a temporary failure,
  never turned into ERROR: an ordinary coding error must not pass for a tenant's mistake.

A haproxy or keepalived that fails to start or reload is both permanent and temporary: ERROR with
the reason, and retried.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from pyroute2.netlink.exceptions import NetlinkError

from lbaas.agent.bridges import bridge_for, bridge_of, parse_bridge_mappings
from lbaas.agent.metrics.counters import AgentMetrics
from lbaas.agent.ports import Driver, Plugin
from lbaas.agent.prefetch import PrefetchedTrees
from lbaas.agent.retries import Retries
from lbaas.agent.stats_ledger import StatsLedger
from lbaas.agent.stats_pacing import StatsPacing, idle_passes
from lbaas.agent.workqueue import WorkQueue
from lbaas.core.admin_events import Event, admin_event
from lbaas.core.amphora import AmphoraStatus, Role
from lbaas.core.request_ids import current_request_id
from lbaas.core.status import Provisioning
from lbaas.core.tree import AmphoraNode, LoadBalancerTree, MemberChange, TreeRejected
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.namespace_driver import DEVICE_DRIVER_NAME
from lbaas.drivers.haproxy.process import Action, ConfigRejected, HaproxyError
from lbaas.drivers.haproxy.stats import StatsError
from lbaas.drivers.interface.vip_plug import InterfaceError
from lbaas.drivers.keepalived.process import ConfigRejected as KeepalivedConfigRejected
from lbaas.drivers.keepalived.process import KeepalivedError
from lbaas.rpc.topics import agent_topic

LOG = logging.getLogger(__name__)

BINARY = "lbaas-agent"
STATS_SPACING = 0.005
"""Seconds a stats pass pauses between two load balancers whose stats it reads: a pass reading N
takes at least N * 5 ms, so the stats work of a busy agent stays a small share of a core (a pass
reading 1,000 busy load balancers takes 5 s; 10, 50 ms, well within ``stats_interval``)."""
PREFETCH_CHUNK = 50
"""Load balancers whose trees a full sync fetches per ``get_loadbalancers`` call."""

PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    ConfigRejected,
    KeepalivedConfigRejected,
    UnsafeConfigValue,
    TreeRejected,
    InterfaceError,
)
"""The tree cannot be built as given: ERROR with the reason, no retry."""
TEMPORARY_ERRORS: tuple[type[Exception], ...] = (
    messaging.MessagingException,
    OSError,
    NetlinkError,
)
"""Failures of the moment (server, kernel, file system): retried with a growing delay."""


@dataclass(frozen=True)
class Deployed:
    """A tree this agent deployed and the bridge it went onto."""

    tree: LoadBalancerTree
    bridge: str


class AgentManager:
    """The refresh, sync and stats logic of one agent."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        plugin: Plugin,
        driver: Driver,
        stopping: threading.Event | None = None,
        metrics: AgentMetrics | None = None,
    ) -> None:
        """``stopping``, once set, ends a stats pass early (the service's stop event);
        ``metrics`` counts deploys and syncs (the service's, served on its endpoint)."""
        self.plugin = plugin
        self.metrics = metrics or AgentMetrics()
        self.driver = driver
        self.bridge_mappings = parse_bridge_mappings(conf.agent.bridge_mappings)
        self.availability_zone: str = conf.agent.availability_zone
        self.queue = WorkQueue(self._run, conf.agent.workers, name="lbaas-agent")
        self.needs_resync = False
        self._full_resync_every: int = conf.agent.full_resync_every
        self._syncs_until_full = 0  # light syncs before the next full one (0: it is next)
        self._first_heartbeat = True
        self._server_lost = False  # the last heartbeat failed
        self.prefetched = PrefetchedTrees()
        self.retries = Retries()
        self._stopping = stopping or threading.Event()
        self._lock = threading.Lock()
        self._orphans: set[str] = set()  # to undeploy without asking the server
        self._rebuild: set[str] = set()  # to undeploy before deploying (failover)
        self._deployed: dict[str, Deployed] = {}  # what this process last deployed, per LB
        self._member_changes: dict[str, MemberChange] = {}  # carried by the last cast, per LB
        self._sent = StatsLedger()  # the stats last sent, per LB
        # Which load balancers a stats pass reads.
        self.stats_pacing = StatsPacing(
            idle_passes(conf.agent.stats_idle_interval, conf.agent.stats_interval))
        self._roles: dict[str, str] = {}  # the VRRP role last reported, per copy of a pair

    # -- scheduling ----------------------------------------------------------------------------

    def schedule(self, lb_id: str, rebuild: bool = False, request_id: str | None = None,
                 member_change: MemberChange | None = None) -> None:
        """Queue a refresh of ``lb_id`` (the server named it: it is not an orphan).

        Called for every cast: a tree prefetched earlier may predate the change, so the refresh
        fetches a fresh one, unless the cast carried a ``member_change`` that turns the tree
        deployed here into the current one. The refresh logs (and reports) under
        ``request_id``, by default the one bound in the calling thread (the cast's).
        """
        self.prefetched.invalidate(lb_id)
        with self._lock:
            self._orphans.discard(lb_id)
            if rebuild:
                self._rebuild.add(lb_id)
            # Only the latest cast's change: the server takes a load balancer's next change
            # only once this agent reported the last one, and a cast without one needs a fetch.
            if member_change is None:
                self._member_changes.pop(lb_id, None)
            else:
                self._member_changes[lb_id] = member_change
        self.queue.submit(lb_id, current_request_id() if request_id is None else request_id)

    def _run(self, lb_id: str) -> None:
        """The work queue's job: remove an orphan or refresh from the server."""
        with self._lock:
            orphan = lb_id in self._orphans
            rebuild = lb_id in self._rebuild
            self._orphans.discard(lb_id)
            self._rebuild.discard(lb_id)
        if orphan:
            self.remove_orphan(lb_id)
        else:
            self.refresh(lb_id, rebuild=rebuild)

    def stop(self, timeout: float | None = None) -> bool:
        """Stop the work queue (running jobs finish, queued ones are dropped)."""
        return self.queue.stop(timeout)

    # -- one load balancer ---------------------------------------------------------------------

    def refresh(self, lb_id: str, rebuild: bool = False) -> None:
        """Bring ``lb_id`` to the server's current tree, or remove it if the server is done.

        The tree is the one a sync prefetched if no cast invalidated it, else the tree deployed
        here with the member change the last cast carried, else fetched now.
        """
        found, tree = self.prefetched.take(lb_id)
        source = "prefetched its tree"
        if not found:
            tree = self._tree_from_member_change(lb_id)
            found, source = tree is not None, "built its tree from the member change"
        try:
            if not found:
                tree = self.plugin.get_loadbalancer(lb_id)
                source = "fetched its tree"
        except TreeRejected as exc:
            self._report(lb_id, None, Provisioning.ERROR, exc.revision, reason=str(exc))
            return
        except Exception as exc:
            self._failed(lb_id, "fetching its tree", exc)
            self._restart_known(lb_id)
            return
        LOG.debug("load balancer %s: %s (revision %s)", lb_id, source,
                  None if tree is None else tree.revision)
        if tree is not None and not tree.placed_on(self.plugin.host):
            LOG.info("load balancer %s now runs elsewhere: removing this host's copy", lb_id)
            self.remove_orphan(lb_id)
            return
        if tree is None or tree.provisioning_status == Provisioning.PENDING_DELETE:
            self._destroy(lb_id)
            return
        copy = tree.copy_on(self.plugin.host)
        try:
            bridge = bridge_for(self.bridge_mappings, tree)
            if rebuild:
                self._start_over(tree, copy)
            started = time.monotonic()
            action = self.driver.deploy(tree, bridge, copy)
        except PERMANENT_ERRORS as exc:
            self.metrics.deploy_failed()
            self._report(lb_id, tree, Provisioning.ERROR, tree.revision, reason=str(exc))
            self._keep_if_serving(lb_id)
            return
        except (HaproxyError, KeepalivedError) as exc:
            self.metrics.deploy_failed()
            self._report(lb_id, tree, Provisioning.ERROR, tree.revision, reason=str(exc))
            self._failed(lb_id, "running haproxy", exc)
            self._keep_if_serving(lb_id)
            return
        except Exception as exc:
            self.metrics.deploy_failed()
            self._failed(lb_id, "deploying", exc)
            self._keep_if_serving(lb_id)
            return
        self.metrics.deployed(action, time.monotonic() - started)
        LOG.debug("load balancer %s: deployed revision %s on %s", lb_id, tree.revision, bridge)
        if action != Action.UNCHANGED or tree.has_pending():
            admin_event(Event.DEPLOYED, lb_id, "load balancer %s built at revision %s", lb_id,
                        tree.revision, revision=tree.revision)
        self.retries.forget(lb_id)
        self.stats_pacing.wake(lb_id)  # members may have changed: read them next pass
        with self._lock:
            self._deployed[lb_id] = Deployed(tree, bridge)
            if tree.has_pending():
                # Closing this change, the server recomputes operating statuses from what it
                # stored (a member just re-enabled: OFFLINE). Send the observed health again.
                self._sent.resend(lb_id)
        self._report(lb_id, tree, Provisioning.ACTIVE, tree.revision)

    def _tree_from_member_change(self, lb_id: str) -> LoadBalancerTree | None:
        """The current tree of ``lb_id`` without asking the server: the tree deployed here with
        the member change the last cast carried, if it applies to that tree (used once)."""
        with self._lock:
            change = self._member_changes.pop(lb_id, None)
            known = self._deployed.get(lb_id)
        if change is None or known is None:
            return None
        tree = change.apply_to(known.tree)
        LOG.debug("load balancer %s: member change to revision %s %s", lb_id, change.revision,
                  "applied to the deployed tree" if tree is not None else
                  f"does not follow the deployed revision {known.tree.revision}: fetching")
        return tree

    def _start_over(self, tree: LoadBalancerTree, copy: AmphoraNode | None) -> None:
        """A failover: a SINGLE load balancer, or a copy being rebuilt (its status is not
        ALLOCATED: an amphora failover), is removed and built again from scratch; the copy of
        a whole pair that holds the VIP hands it to the other copy (a planned switch)."""
        if copy is None or copy.status != AmphoraStatus.ALLOCATED:
            self._forget(tree.id)
            self.driver.undeploy(tree.id)
            return
        peer = tree.peer_of(copy)
        if (peer is not None and peer.status == AmphoraStatus.ALLOCATED
                and self.driver.copy_role(tree.id) == Role.MASTER):
            LOG.info("load balancer %s: handing the VIP over to the other copy", tree.id)
            self.driver.hand_over(tree.id)

    def _keep_if_serving(self, lb_id: str) -> None:
        """After a failed refresh: if the previous haproxy still serves, keep watching it (stats,
        restarts); otherwise forget it, so the stats pass does not retry it in a loop (syncs
        retry it)."""
        if not self.driver.is_healthy(lb_id):
            self._forget(lb_id)

    def _restart_known(self, lb_id: str) -> None:
        """Without the server, at least restart a dead haproxy on the tree last deployed."""
        with self._lock:
            known = self._deployed.get(lb_id)
        if known is None or self.driver.is_healthy(lb_id):
            return
        try:
            self.driver.deploy(known.tree, known.bridge, known.tree.copy_on(self.plugin.host))
        except Exception as exc:
            LOG.error("cannot restart load balancer %s on its last tree: %s", lb_id, exc)
        else:
            LOG.info("restarted load balancer %s on its last known tree", lb_id)

    def _report(
        self,
        lb_id: str,
        tree: LoadBalancerTree | None,
        status: str,
        revision: int | None,
        reason: str | None = None,
    ) -> None:
        """Tell the server the outcome unless the tree already says so (resyncs stay quiet). A
        copy of a pair reports on itself (the pair's change closes when both copies did)."""
        if reason is not None:
            admin_event(Event.DEPLOY_FAILED, lb_id, "load balancer %s is in ERROR: %s", lb_id,
                        reason, level=logging.ERROR, revision=revision, reason=reason)
        copy = tree.copy_on(self.plugin.host) if tree is not None else None
        if tree is not None and copy is not None:
            self._report_copy(tree, copy, status == Provisioning.ACTIVE, reason)
            return
        if tree is not None and tree.provisioning_status == status and not tree.has_pending():
            return
        LOG.debug("load balancer %s: reporting %s at revision %s", lb_id, status, revision)
        try:
            self.plugin.update_status(
                "loadbalancer", lb_id, provisioning_status=status, revision=revision,
                reason=reason,
            )
        except Exception as exc:
            self._failed(lb_id, f"reporting {status}", exc)

    def _report_copy(self, tree: LoadBalancerTree, copy: AmphoraNode, built: bool,
                     reason: str | None) -> None:
        if built and copy.status == AmphoraStatus.ALLOCATED and not tree.has_pending():
            return
        LOG.debug("load balancer %s: reporting its copy %s at revision %s", tree.id,
                  "built" if built else "failed", tree.revision)
        try:
            self.plugin.update_amphora(
                tree.id, status=AmphoraStatus.ALLOCATED if built else AmphoraStatus.ERROR,
                revision=tree.revision, reason=reason)
        except Exception as exc:
            self._failed(tree.id, "reporting its copy", exc)

    def _destroy(self, lb_id: str) -> None:
        """The server deleted ``lb_id`` (or is deleting it): remove it, then confirm."""
        self._forget(lb_id)
        try:
            self.driver.undeploy(lb_id)
        except Exception as exc:
            self._failed(lb_id, "undeploying", exc)
            return
        try:
            self.plugin.loadbalancer_destroyed(lb_id)
        except Exception as exc:
            self._failed(lb_id, "confirming its deletion", exc)
            return
        admin_event(Event.REMOVED, lb_id, "load balancer %s removed (deleted)", lb_id,
                    reason="deleted")
        self.retries.forget(lb_id)

    def remove_orphan(self, lb_id: str) -> None:
        """Undeploy ``lb_id``, which the server no longer places here (do not tell it: the
        load balancer may live on another agent now)."""
        LOG.info("removing orphaned load balancer %s", lb_id)
        self.prefetched.invalidate(lb_id)  # a tree an earlier sync fetched is of no use now
        self._forget(lb_id)
        try:
            self.driver.undeploy(lb_id)
        except Exception as exc:
            with self._lock:
                self._orphans.add(lb_id)  # the retry removes it again, without the server
            self._failed(lb_id, "removing the orphan", exc)
            return
        admin_event(Event.REMOVED, lb_id, "load balancer %s removed (no longer placed here)",
                    lb_id, reason="orphan")
        self.retries.forget(lb_id)

    def _forget(self, lb_id: str) -> None:
        with self._lock:
            self._deployed.pop(lb_id, None)
            self._sent.forget(lb_id)
            self._roles.pop(lb_id, None)
        self.stats_pacing.forget(lb_id)

    def _failed(self, lb_id: str, doing: str, exc: BaseException) -> None:
        """A temporary failure or a bug: log it (a bug with its traceback) and retry later."""
        delay = self.retries.schedule(lb_id, current_request_id())
        if isinstance(exc, TEMPORARY_ERRORS):
            LOG.warning("load balancer %s: temporary failure %s, retrying in %.0fs: %s",
                        lb_id, doing, delay, exc)
        else:
            LOG.error("load balancer %s: unexpected error %s (a bug), retrying in %.0fs",
                      lb_id, doing, delay, exc_info=exc)

    def retry_due(self) -> None:
        """Queue the load balancers whose retry time has come, under the request id of the
        work that failed (the pass's own when there was none)."""
        for lb_id, request_id in self.retries.due():
            if self.queue.stopped:
                return
            self.queue.submit(lb_id, request_id or current_request_id())

    # -- periodic passes -----------------------------------------------------------------------

    def sync_state(self, full: bool | None = None) -> None:
        """Compare what the server wants here with what exists; queue repairs and removals.

        A full sync refreshes every wanted load balancer (created if missing, reloaded if
        stale, restarted if dead); a light one (RPC 1.3) only those whose revision differs from
        the tree this agent built, or that are not built here. Both undeploy what the server
        does not want here. The first sync, the one after the server was lost or a sync failed,
        and every ``[agent] full_resync_every``-th are full: they also repair what changed
        behind the agent's back (a configuration file edited by hand); a dead haproxy or a
        deleted namespace the stats pass finds at once (``collect_stats``). ``full`` True or
        False overrides that schedule for this sync (the density bench compares the two).
        """
        if full is None:
            full = self.needs_resync or self._syncs_until_full <= 0
        self.needs_resync = False
        started = time.monotonic()
        try:
            wanted, revisions = self._wanted(full)
        except messaging.MessagingException as exc:
            LOG.warning("sync_state: cannot get the wanted load balancers: %s", exc)
            self.needs_resync = True
            return
        full = revisions is None
        try:
            deployed = self.driver.deployed_ids()
        except OSError as exc:
            LOG.warning("sync_state: cannot list deployed load balancers: %s", exc)
            self.needs_resync = True
            return
        orphans = deployed - wanted
        with self._lock:
            self._orphans |= orphans
            self._orphans -= wanted
            built = {lb_id: known.tree.revision for lb_id, known in self._deployed.items()}
        if orphans:
            LOG.info("sync_state: %d orphaned load balancers to remove", len(orphans))
        if revisions is None:
            ordered = sorted(wanted)
        else:
            ordered = sorted(lb_id for lb_id, revision in revisions.items()
                             if built.get(lb_id) != revision or lb_id not in deployed)
        prefetch = True
        for start in range(0, len(ordered), PREFETCH_CHUNK):
            if self.queue.stopped:
                return
            chunk = ordered[start:start + PREFETCH_CHUNK]
            prefetch = prefetch and self._prefetch(chunk)
            for lb_id in chunk:
                self.queue.submit(lb_id, current_request_id())
        for lb_id in sorted(orphans):
            self.queue.submit(lb_id, current_request_id())
        self._syncs_until_full = self._full_resync_every - 1 if full else \
            self._syncs_until_full - 1
        self.metrics.synced(time.monotonic() - started)

    def _wanted(self, full: bool) -> tuple[set[str], dict[str, int] | None]:
        """The ids the server wants here, with their revisions for a light sync (None: a full
        one, also when the server is older than RPC 1.3)."""
        if not full:
            try:
                revisions = self.plugin.get_ready_revisions()
                return set(revisions), revisions
            except (messaging.UnsupportedVersion, messaging.NoSuchMethod) as exc:
                LOG.info("sync_state: the server has no revisions (%s): a full sync", exc)
        return set(self.plugin.get_ready_devices()), None

    def _prefetch(self, lb_ids: list[str]) -> bool:
        """Fetch the trees of ``lb_ids`` in one call for their coming refreshes; False if that
        failed (a server older than RPC 1.1, a timeout): nothing is stored and each refresh
        fetches its own tree (and handles the error)."""
        ticket = self.prefetched.begin(lb_ids)
        try:
            trees = self.plugin.get_loadbalancers(lb_ids)
        except messaging.MessagingException as exc:
            self.prefetched.abort(ticket)
            LOG.info("sync_state: no batched fetch (%s): fetching trees one at a time", exc)
            return False
        self.prefetched.complete(ticket, trees)
        return True

    def probe_addresses(self, network_id: str, network_name: str | None,
                        addresses: list[str]) -> list[str] | None:
        """Which of ``addresses`` some host answers for on the bridge of the network (by id, or
        else by name); None when this agent maps no bridge to it. The server asks before it
        moves a dead agent's VIPs (:mod:`lbaas.drivers.interface.probe`)."""
        bridge = bridge_of(self.bridge_mappings, network_id, network_name)
        return None if bridge is None else sorted(self.driver.answering(bridge, addresses))

    def watch_roles(self) -> None:
        """One pass over this host's copies of pairs (every ``[keepalived] role_interval``).

        A copy whose keepalived is not running is refreshed (the driver takes away the VIP a
        killed keepalived left behind and starts it again); a VRRP role that changed since the
        last report goes to the server, which shows it in the amphora API. Copies with work
        queued or running are skipped."""
        with self._lock:
            paired = [lb_id for lb_id, known in self._deployed.items() if known.tree.amphorae]
        for lb_id in paired:
            if self.queue.busy(lb_id):
                continue
            role = self.driver.copy_role(lb_id)
            if role is None:
                admin_event(Event.KEEPALIVED_RESTART, lb_id, "keepalived of load balancer %s "
                            "is not running: restarting it", lb_id, level=logging.WARNING)
                self.queue.submit(lb_id, current_request_id())
                continue
            with self._lock:
                previous = self._roles.get(lb_id)
            if previous == role:
                continue
            try:
                self.plugin.update_amphora(lb_id, role=role)
            except Exception as exc:
                LOG.warning("cannot report the role of load balancer %s: %s", lb_id, exc)
                continue
            self.stats_pacing.wake(lb_id)  # a new MASTER speaks for the pair from now on
            admin_event(Event.VRRP_ROLE, lb_id, "load balancer %s: this copy is %s (was %s)",
                        lb_id, role, previous, role=role, previous=previous)
            with self._lock:
                if lb_id in self._deployed:
                    self._roles[lb_id] = role

    def deployed_trees(self) -> list[LoadBalancerTree]:
        """The trees this process last deployed (the load balancers it runs and watches)."""
        with self._lock:
            return [known.tree for known in self._deployed.values()]

    def agent_state(self) -> dict[str, Any]:
        """The heartbeat payload."""
        try:
            count = len(self.driver.deployed_ids())
        except OSError:
            count = len(self._deployed)
        return {
            "host": self.plugin.host,
            "binary": BINARY,
            "topic": agent_topic(self.plugin.host),
            "availability_zone": self.availability_zone,
            "configurations": {
                "bridge_mappings": dict(self.bridge_mappings),
                "load_balancers": count,
                "device_drivers": [DEVICE_DRIVER_NAME],
            },
        }

    def report_state(self) -> None:
        """Send a heartbeat (failures are logged: the next one may get through).

        The first heartbeat says the agent (re)started. The first one that gets through after a
        failure asks for a full sync at once: casts sent while this agent could not be reached
        (a broker restart drops queued messages) are lost, and the sync repairs them."""
        state = self.agent_state()
        if self._first_heartbeat:
            state["start_flag"] = True
        try:
            self.plugin.report_state(state)
        except messaging.MessagingException as exc:
            if not self._server_lost:
                LOG.warning("heartbeat failed, the server may miss casts meanwhile: %s", exc)
            self._server_lost = True
            return
        self._first_heartbeat = False
        if self._server_lost:
            LOG.info("heartbeat delivered again: full sync to repair lost casts")
            self._server_lost = False
            self.needs_resync = True

    def collect_stats(self) -> None:
        """One stats pass: restart dead haproxies, send member health and counters.

        Every load balancer's haproxy is checked every pass, cheaply
        (``Driver.still_running``: no socket; ``Driver.is_healthy`` when that fails, and a dead
        one is restarted); its stats are read only when
        :class:`lbaas.agent.stats_pacing.StatsPacing` says so (busy ones every pass, quiet ones
        rarely) or while it drains servers. Load balancers with work queued or running are
        skipped (they are changing right now). What goes to the server, and when,
        :class:`lbaas.agent.stats_ledger.StatsLedger` decides (member health at once, counters
        now and then). The pass pauses :data:`STATS_SPACING` between two load balancers it
        reads and ends early when the agent stops.
        """
        with self._lock:
            trees = {lb_id: known.tree for lb_id, known in self._deployed.items()}
        read = 0
        for lb_id, tree in trees.items():
            if self.queue.busy(lb_id):
                continue
            due = self.stats_pacing.due(lb_id) or self.driver.draining(lb_id)
            running = self.driver.still_running(lb_id)
            if not due and running:
                continue
            if read and self._stopping.wait(STATS_SPACING):
                return
            read += 1
            # The thorough check (the master answers on its socket) only when the cheap one
            # fails: the master it found is gone, or none was found yet.
            if not running and not self.driver.is_healthy(lb_id):
                admin_event(Event.HAPROXY_RESTART, lb_id, "haproxy of load balancer %s is not "
                            "running: restarting it", lb_id, level=logging.WARNING)
                self.queue.submit(lb_id, current_request_id())
                continue
            with self._lock:
                standby = bool(tree.amphorae) and self._roles.get(lb_id) != Role.MASTER
            if standby:
                self.stats_pacing.read(lb_id, quiet=True)  # woken when it becomes MASTER
                continue  # the copy holding the VIP speaks for the pair
            self._read_stats(tree)

    def _read_stats(self, tree: LoadBalancerTree) -> None:
        """Read ``tree``'s stats, send them when the ledger says so, and pace the next read:
        soon unless the server already has all this reading holds."""
        lb_id = tree.id
        try:
            stats = self.driver.collect(tree)
        except (OSError, StatsError) as exc:
            LOG.warning("cannot read stats of load balancer %s: %s", lb_id, exc)
            self.stats_pacing.wake(lb_id)
            return
        with self._lock:
            due = self._sent.due(lb_id, stats, count_pass=lb_id in self._deployed)
        if due:
            try:
                self.plugin.update_loadbalancer_stats(lb_id, stats)
            except messaging.MessagingException as exc:
                LOG.warning("cannot send stats of load balancer %s: %s", lb_id, exc)
                self.stats_pacing.wake(lb_id)
                return
            with self._lock:
                if lb_id in self._deployed:
                    self._sent.sent(lb_id, stats)
        with self._lock:
            quiet = self._sent.holds(lb_id, stats)
        self.stats_pacing.read(lb_id, quiet)

    def stats_activity(self, lb_id: str) -> None:
        """Something happened on ``lb_id`` that its stats show (a member's health changed,
        requests were served): read them at the next pass. Called by the agent's log receiver
        from its own thread."""
        self.stats_pacing.wake(lb_id)
