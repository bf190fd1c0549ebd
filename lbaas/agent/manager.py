"""The agent manager: turns the server's casts into "refresh load balancer X" and keeps this host
in line with what the server wants.

Built by :class:`lbaas.agent.service.AgentService`, which hands it the casts of topic
``lbaas_agent.<host>`` (through :mod:`lbaas.agent.endpoint`) and calls its periodic passes
(:meth:`AgentManager.report_state`, :meth:`AgentManager.sync_state`,
:meth:`AgentManager.collect_stats`) from its own threads.

Every cast, whatever object it names, only submits the load balancer's id to a per-key work queue
(:mod:`lbaas.agent.workqueue`); the job fetches the current tree from the server and deploys it
(STYLE.md point 7: one code path, not fifteen handlers). A full sync fetches the trees of its
load balancers in chunks (``get_loadbalancers``, one RPC round trip per chunk) ahead of the jobs
(:mod:`lbaas.agent.prefetch`); a job uses such a tree only if no cast about its load balancer
arrived since the chunk was fetched. Failures are classified:

* permanent (the tree cannot be rendered, haproxy refuses the config, no bridge carries the VIP
  network): the load balancer is set to ERROR with the reason; nothing is retried until something
  changes (the periodic full sync still retries it);
* temporary (RPC timeouts, netlink or file errors): logged, ``needs_resync`` is set and the
  service runs a full sync soon.

A haproxy that fails to start or reload is both: ERROR with the reason, and retried soon.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import oslo_messaging as messaging
import pydantic
from oslo_config import cfg

from lbaas.agent.bridges import bridge_for, parse_bridge_mappings
from lbaas.agent.prefetch import PrefetchedTrees
from lbaas.agent.workqueue import WorkQueue
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.namespace_driver import DEVICE_DRIVER_NAME
from lbaas.drivers.haproxy.process import ConfigRejected, HaproxyError
from lbaas.drivers.haproxy.stats import StatsError
from lbaas.drivers.interface.vip_plug import InterfaceError
from lbaas.rpc.payloads import LoadBalancerTree
from lbaas.rpc.topics import agent_topic

LOG = logging.getLogger(__name__)

BINARY = "lbaas-agent"
ACTIVE, ERROR, PENDING_DELETE = "ACTIVE", "ERROR", "PENDING_DELETE"
COUNTERS_EVERY = 10
"""Send changed counters at most every this many stats passes (member health changes go at
once)."""
RESEND_EVERY = 100
"""Send unchanged stats again after this many passes (the server adds counter differences, so
resending is harmless; it heals a lost cast). Until then an idle load balancer costs the server
nothing."""
STATS_SPACING = 0.005
"""Seconds a stats pass pauses between two load balancers: a pass over N takes at least
N * 5 ms, so the stats work of a busy agent stays a small share of a core (one pass over 1,000
load balancers takes 5 s; over 10, 50 ms, well within ``stats_interval``)."""
PREFETCH_CHUNK = 50
"""Load balancers whose trees a full sync fetches per ``get_loadbalancers`` call."""

PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    ConfigRejected,
    UnsafeConfigValue,
    pydantic.ValidationError,
    InterfaceError,
    ValueError,
)
"""The tree cannot be built as given: ERROR with the reason, no retry."""


@dataclass(frozen=True)
class Deployed:
    """A tree this agent deployed and the bridge it went onto."""

    tree: LoadBalancerTree
    bridge: str


class Plugin(Protocol):
    """What the manager needs of the server (see :class:`lbaas.rpc.plugin_api.PluginApi`)."""

    host: str

    def get_ready_devices(self) -> list[str]: ...

    def get_loadbalancer(self, lb_id: str) -> dict[str, Any] | None: ...

    def get_loadbalancers(self, lb_ids: list[str]) -> dict[str, dict[str, Any] | None]: ...

    def update_status(
        self,
        obj_type: str,
        obj_id: str,
        provisioning_status: str | None = None,
        operating_status: str | None = None,
        revision: int | None = None,
        reason: str | None = None,
    ) -> None: ...

    def update_loadbalancer_stats(self, lb_id: str, stats: dict[str, Any]) -> None: ...

    def loadbalancer_destroyed(self, lb_id: str) -> None: ...

    def report_state(self, state: dict[str, Any]) -> None: ...


class Driver(Protocol):
    """What the agent needs of a device driver (see ``HaproxyNamespaceDriver``)."""

    def prepare_host(self) -> None: ...

    def deploy(self, tree: LoadBalancerTree, bridge: str) -> object: ...

    def undeploy(self, lb_id: str) -> None: ...

    def deployed_ids(self) -> set[str]: ...

    def is_healthy(self, lb_id: str) -> bool: ...

    def collect(self, tree: LoadBalancerTree) -> dict[str, Any]: ...


def has_pending(value: Any) -> bool:
    """True when any object in the raw tree ``value`` has a PENDING_* provisioning status."""
    if isinstance(value, Mapping):
        status = value.get("provisioning_status")
        if isinstance(status, str) and status.startswith("PENDING_"):
            return True
        return any(has_pending(item) for item in value.values())
    if isinstance(value, list):
        return any(has_pending(item) for item in value)
    return False


class AgentManager:
    """The refresh, sync and stats logic of one agent."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        plugin: Plugin,
        driver: Driver,
        stopping: threading.Event | None = None,
    ) -> None:
        """``stopping``, once set, ends a stats pass early (the service's stop event)."""
        self.plugin = plugin
        self.driver = driver
        self.bridge_mappings = parse_bridge_mappings(conf.agent.bridge_mappings)
        self.queue = WorkQueue(self._run, conf.agent.workers, name="lbaas-agent")
        self.needs_resync = False
        self.prefetched = PrefetchedTrees()
        self._stopping = stopping or threading.Event()
        self._lock = threading.Lock()
        self._orphans: set[str] = set()  # to undeploy without asking the server
        self._rebuild: set[str] = set()  # to undeploy before deploying (failover)
        self._deployed: dict[str, Deployed] = {}  # what this process last deployed, per LB
        self._last_sent: dict[str, dict[str, Any]] = {}  # the stats last sent, per LB
        self._passes_since_sent: dict[str, int] = {}

    # -- scheduling ----------------------------------------------------------------------------

    def schedule(self, lb_id: str, rebuild: bool = False) -> None:
        """Queue a refresh of ``lb_id`` (the server named it: it is not an orphan).

        Called for every cast: a tree prefetched earlier may predate the change, so the refresh
        fetches a fresh one.
        """
        self.prefetched.invalidate(lb_id)
        with self._lock:
            self._orphans.discard(lb_id)
            if rebuild:
                self._rebuild.add(lb_id)
        self.queue.submit(lb_id)

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

        The tree is the one a sync prefetched if no cast invalidated it, else fetched now.
        """
        found, raw = self.prefetched.take(lb_id)
        if not found:
            try:
                raw = self.plugin.get_loadbalancer(lb_id)
            except messaging.MessagingException as exc:
                self._temporary(lb_id, "fetching its tree", exc)
                self._restart_known(lb_id)
                return
        if raw is None or raw.get("provisioning_status") == PENDING_DELETE:
            self._destroy(lb_id)
            return
        revision = raw.get("revision")
        try:
            tree = LoadBalancerTree.model_validate(raw)
            bridge = bridge_for(self.bridge_mappings, raw)
            if rebuild:
                self._forget(lb_id)
                self.driver.undeploy(lb_id)
            self.driver.deploy(tree, bridge)
        except PERMANENT_ERRORS as exc:
            self._report(lb_id, raw, ERROR, revision, reason=str(exc))
            self._keep_if_serving(lb_id)
            return
        except HaproxyError as exc:
            self._report(lb_id, raw, ERROR, revision, reason=str(exc))
            self._temporary(lb_id, "running haproxy", exc)
            self._keep_if_serving(lb_id)
            return
        except Exception as exc:  # netlink, file system: transient until proven otherwise
            self._temporary(lb_id, "deploying", exc)
            self._keep_if_serving(lb_id)
            return
        with self._lock:
            self._deployed[lb_id] = Deployed(tree, bridge)
            if has_pending(raw):
                # Closing this change, the server recomputes operating statuses from what it
                # stored (a member just re-enabled: OFFLINE). Send the observed health again.
                self._last_sent.pop(lb_id, None)
        self._report(lb_id, raw, ACTIVE, revision)

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
            self.driver.deploy(known.tree, known.bridge)
        except Exception as exc:
            LOG.error("cannot restart load balancer %s on its last tree: %s", lb_id, exc)
        else:
            LOG.info("restarted load balancer %s on its last known tree", lb_id)

    def _report(
        self,
        lb_id: str,
        raw: Mapping[str, Any],
        status: str,
        revision: int | None,
        reason: str | None = None,
    ) -> None:
        """Tell the server the outcome unless the tree already says so (resyncs stay quiet)."""
        if reason is not None:
            LOG.error("load balancer %s is in ERROR: %s", lb_id, reason)
        if raw.get("provisioning_status") == status and not has_pending(raw):
            return
        try:
            self.plugin.update_status(
                "loadbalancer", lb_id, provisioning_status=status, revision=revision,
                reason=reason,
            )
        except messaging.MessagingException as exc:
            self._temporary(lb_id, f"reporting {status}", exc)

    def _destroy(self, lb_id: str) -> None:
        """The server deleted ``lb_id`` (or is deleting it): remove it, then confirm."""
        self._forget(lb_id)
        try:
            self.driver.undeploy(lb_id)
        except Exception as exc:
            self._temporary(lb_id, "undeploying", exc)
            return
        try:
            self.plugin.loadbalancer_destroyed(lb_id)
        except messaging.MessagingException as exc:
            self._temporary(lb_id, "confirming its deletion", exc)

    def remove_orphan(self, lb_id: str) -> None:
        """Undeploy ``lb_id``, which the server no longer places here (do not tell it: the
        load balancer may live on another agent now)."""
        LOG.info("removing orphaned load balancer %s", lb_id)
        self.prefetched.invalidate(lb_id)  # a tree an earlier sync fetched is of no use now
        self._forget(lb_id)
        try:
            self.driver.undeploy(lb_id)
        except Exception as exc:
            self._temporary(lb_id, "removing the orphan", exc)

    def _forget(self, lb_id: str) -> None:
        with self._lock:
            self._deployed.pop(lb_id, None)
            self._last_sent.pop(lb_id, None)
            self._passes_since_sent.pop(lb_id, None)

    def _temporary(self, lb_id: str, doing: str, exc: BaseException) -> None:
        LOG.warning("load balancer %s: temporary failure %s, will resync: %s", lb_id, doing, exc)
        self.needs_resync = True

    # -- periodic passes -----------------------------------------------------------------------

    def sync_state(self) -> None:
        """Compare what the server wants here with what exists; queue repairs and removals.

        Every wanted load balancer is refreshed (created if missing, reloaded if stale, restarted
        if dead); every deployed one the server does not want here is undeployed.
        """
        self.needs_resync = False
        try:
            wanted = set(self.plugin.get_ready_devices())
        except messaging.MessagingException as exc:
            LOG.warning("sync_state: cannot get the wanted load balancers: %s", exc)
            self.needs_resync = True
            return
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
        if orphans:
            LOG.info("sync_state: %d orphaned load balancers to remove", len(orphans))
        ordered = sorted(wanted)
        prefetch = True
        for start in range(0, len(ordered), PREFETCH_CHUNK):
            if self.queue.stopped:
                return
            chunk = ordered[start:start + PREFETCH_CHUNK]
            prefetch = prefetch and self._prefetch(chunk)
            for lb_id in chunk:
                self.queue.submit(lb_id)
        for lb_id in sorted(orphans):
            self.queue.submit(lb_id)

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
            "configurations": {
                "bridge_mappings": dict(self.bridge_mappings),
                "load_balancers": count,
                "device_drivers": [DEVICE_DRIVER_NAME],
            },
        }

    def report_state(self) -> None:
        """Send a heartbeat (failures are logged: the next one may get through)."""
        try:
            self.plugin.report_state(self.agent_state())
        except messaging.MessagingException as exc:
            LOG.warning("heartbeat failed: %s", exc)

    def collect_stats(self) -> None:
        """One stats pass: restart dead haproxies, send member health and counters.

        Load balancers with work queued or running are skipped (they are changing right now).
        Member health goes to the server when it changed; counters that changed every
        :data:`COUNTERS_EVERY` passes; the first pass over a load balancer sends both. The pass
        pauses :data:`STATS_SPACING` between two load balancers and ends early when the agent
        stops.
        """
        with self._lock:
            trees = {lb_id: known.tree for lb_id, known in self._deployed.items()}
        for number, (lb_id, tree) in enumerate(trees.items()):
            if number and self._stopping.wait(STATS_SPACING):
                return
            if self.queue.busy(lb_id):
                continue
            if not self.driver.is_healthy(lb_id):
                LOG.warning("haproxy of load balancer %s is not running: restarting it", lb_id)
                self.queue.submit(lb_id)
                continue
            try:
                stats = self.driver.collect(tree)
            except (OSError, StatsError) as exc:
                LOG.warning("cannot read stats of load balancer %s: %s", lb_id, exc)
                continue
            if self._stats_due(lb_id, stats):
                try:
                    self.plugin.update_loadbalancer_stats(lb_id, stats)
                except messaging.MessagingException as exc:
                    LOG.warning("cannot send stats of load balancer %s: %s", lb_id, exc)
                    continue
                with self._lock:
                    if lb_id in self._deployed:
                        self._last_sent[lb_id] = stats
                        self._passes_since_sent[lb_id] = 0

    def _stats_due(self, lb_id: str, stats: dict[str, Any]) -> bool:
        """True when nothing was sent yet, member health changed, counters changed and were
        last sent at least :data:`COUNTERS_EVERY` passes ago, or :data:`RESEND_EVERY` passes
        went by."""
        with self._lock:
            passes = self._passes_since_sent.get(lb_id, COUNTERS_EVERY - 1) + 1
            if lb_id in self._deployed:
                self._passes_since_sent[lb_id] = passes
            last = self._last_sent.get(lb_id)
        if last is None or last["members"] != stats["members"]:
            return True
        if passes >= RESEND_EVERY:
            return True
        return passes >= COUNTERS_EVERY and last["listeners"] != stats["listeners"]
