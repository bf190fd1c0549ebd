"""Carry a :class:`~.runtime_plan.RuntimePlan` out on a running haproxy, over its stats socket.

Called by the namespace driver (:mod:`.namespace_driver`) inside a deploy, one load balancer at a
time. Nothing is assumed about the running process: the servers it runs are read first (``show
servers state``) and compared with the wanted ones, so a change an agent died in the middle of,
or a server changed by hand, is finished or undone. A removed server goes to maintenance at
once (no new request or connection reaches it) and is deleted once its connections have ended
(``del server`` refuses a server with connections) or, with the pool's ``lbaas:drain_timeout``,
once they were cut at its end, as are the connections of a member set to weight 0; until then
it is *draining*, and :meth:`Drains.finish` (the stats pass, every second) acts when due. A
draining server the agent forgot (it restarted) is found again by the next change of its
backend, or goes with the next reload.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from lbaas.drivers.haproxy.runtime_plan import RuntimePlan, Server, cli_safe
from lbaas.drivers.haproxy.stats import ServerRuntimeState, StatsClient, StatsError

LOG = logging.getLogger(__name__)

class RuntimeMismatch(Exception):
    """The running haproxy lacks a server that cannot be added at runtime: reload instead."""


Key = tuple[str, str]
"""(backend, server)."""


@dataclass(frozen=True)
class Drain:
    """A server losing its traffic: its connections are cut (``shutdown sessions``) at
    ``cut_at`` (monotonic seconds; None: they end on their own), and a removed server
    (``delete``) is deleted once it has none."""

    cut_at: float | None
    delete: bool


DrainUpdates = dict[Key, Drain | None]
"""What a change did to the drains of its servers: started (or kept), or ended (None)."""


def apply_plan(stats: StatsClient, plan: RuntimePlan, now: float) -> DrainUpdates:
    """Make the running servers of the plan's backends what it wants; returns how the drains
    of their servers change (``now``: monotonic seconds, the start of a new drain).

    Each backend's running servers (``show servers state``) are compared with the wanted ones:
    a missing server is added (then its checks and traffic enabled, unless disabled), a weight
    or admin state that differs is set, a server the plan does not want goes to maintenance
    and is deleted once its connections have ended, or are cut after the backend's drain
    timeout. A server set to weight 0 keeps its connections until the drain timeout too.

    Raises RuntimeMismatch (nothing changed), CommandFailed (haproxy refused a command: some
    may have run, the caller reloads) or OSError (the socket does not answer).
    """
    actual: dict[str, dict[str, ServerRuntimeState]] = {name: {} for name in plan.backends}
    for found in stats.show_servers_state():
        if found.backend in actual:
            actual[found.backend][found.name] = found
    for backend, wanted in plan.backends.items():
        for server in wanted.servers.values():
            if server.name not in actual[backend] and not (wanted.dynamic_servers
                                                           and cli_safe(server.args)):
                raise RuntimeMismatch(f"server {backend}/{server.name} does not run and "
                                      "cannot be added at runtime")
    updates: DrainUpdates = {}
    for backend, wanted in plan.backends.items():
        cut_at = now + wanted.drain_timeout if wanted.drain_timeout else None
        for server in wanted.servers.values():
            before = actual[backend].get(server.name)
            _reach(stats, backend, server, before)
            if server.weight > 0 or cut_at is None:
                updates[(backend, server.name)] = None
            elif before is not None and before.user_weight > 0:
                updates[(backend, server.name)] = Drain(cut_at, delete=False)
        for name, state in actual[backend].items():
            if name not in wanted.servers:
                if not state.maint:
                    stats.set_server_state(backend, name, "maint")
                deleted = try_delete(stats, (backend, name))
                updates[(backend, name)] = None if deleted else Drain(cut_at, delete=True)
    return updates


def _reach(stats: StatsClient, backend: str, server: Server,
           state: ServerRuntimeState | None) -> None:
    """Bring one running server (``state``, None: not running) to what ``server`` says."""
    if state is None:
        stats.add_server(backend, server.name, server.args)
        if server.checked:
            stats.enable_health(backend, server.name)
        if not server.disabled:
            stats.set_server_state(backend, server.name, "ready")
        return
    if state.user_weight != server.weight:
        stats.set_server_weight(backend, server.name, server.weight)
    if state.maint != server.disabled:
        stats.set_server_state(backend, server.name, "maint" if server.disabled else "ready")


def try_delete(stats: StatsClient, key: Key) -> bool:
    """``del server``; True when the server is gone, False while it still has connections."""
    if stats.delete_server(*key):
        return True
    LOG.debug("server %s/%s not deleted yet: it still has connections", *key)
    return False


class Drains:
    """The draining servers of each load balancer (:class:`Drain`).

    Thread-safe: deploys (work queue) update, the stats pass finishes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, dict[Key, Drain]] = {}

    def update(self, lb_id: str, updates: DrainUpdates) -> None:
        """Record a change's drains; a server already draining keeps its earlier deadline."""
        with self._lock:
            pending = self._pending.setdefault(lb_id, {})
            for key, drain in updates.items():
                earlier = pending.get(key)
                if drain is None:
                    pending.pop(key, None)
                elif earlier is None or earlier.delete != drain.delete:
                    pending[key] = drain
            if not pending:
                del self._pending[lb_id]

    def forget(self, lb_id: str) -> None:
        """A reload or an undeploy ended every drain of ``lb_id`` (the new process runs none of
        the removed servers; the old one finishes their connections)."""
        with self._lock:
            self._pending.pop(lb_id, None)

    def pending(self, lb_id: str) -> dict[Key, Drain]:
        with self._lock:
            return dict(self._pending.get(lb_id, {}))

    def finish(self, lb_id: str, stats: StatsClient, now: float) -> None:
        """Cut the connections of the drains of ``lb_id`` that are due, and delete the removed
        servers that have none left (cheap when nothing drains: no socket call)."""
        pending = self.pending(lb_id)
        if not pending:
            return
        done: DrainUpdates = {}
        try:
            for key, drain in pending.items():
                if drain.cut_at is not None and now >= drain.cut_at:
                    stats.shutdown_sessions(*key)
                    done[key] = Drain(None, delete=True) if drain.delete else None
                if drain.delete and try_delete(stats, key):
                    done[key] = None
        except (OSError, StatsError) as exc:
            LOG.debug("draining servers of %s: %s", lb_id, exc)
        with self._lock:
            current = self._pending.get(lb_id)
            if current is None:
                return
            for key, after in done.items():
                if current.get(key) == pending[key]:  # not changed meanwhile
                    if after is None:
                        del current[key]
                    else:
                        current[key] = after
            if not current:
                del self._pending[lb_id]
