"""Trees fetched ahead of their refresh, usable only while no newer cast has arrived.

A full sync (:meth:`lbaas.agent.manager.AgentManager.sync_state`) asks the server for the trees of
many load balancers in one call (``get_loadbalancers``) and hands them to the work queue through a
:class:`PrefetchedTrees`; the queued refresh then takes its tree from here instead of making one
RPC round trip per load balancer.

A prefetched tree must never hide a newer change. The server commits, then casts, so a cast that
arrives *before* a fetch starts is already reflected in what the fetch returns, but one that
arrives while the fetch is in flight (or after it) may not be. Hence:

* :meth:`PrefetchedTrees.begin` opens a ticket for the ids about to be fetched;
* :meth:`PrefetchedTrees.invalidate` (called for every cast) drops a stored tree of that id and
  marks it stale in every open ticket;
* :meth:`PrefetchedTrees.complete` stores the fetched trees except the ones marked stale;
* :meth:`PrefetchedTrees.take` hands a stored tree out once.

So a refresh uses a prefetched tree only when no cast about that load balancer arrived since the
fetch began; otherwise it finds nothing here and fetches the tree itself. Thread-safe.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Mapping

from lbaas.core.tree import LoadBalancerTree

MaybeTree = LoadBalancerTree | None
"""A tree as ``get_loadbalancer`` returns it; None when the server no longer knows the id."""


class PrefetchedTrees:
    """Stored trees per load balancer id, invalidated by casts (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trees: dict[str, MaybeTree] = {}
        self._open: dict[int, tuple[frozenset[str], set[str]]] = {}  # ticket -> (ids, stale)
        self._tickets = itertools.count(1)

    def begin(self, lb_ids: Iterable[str]) -> int:
        """Open a ticket for a fetch of ``lb_ids`` that starts now."""
        with self._lock:
            ticket = next(self._tickets)
            self._open[ticket] = (frozenset(lb_ids), set())
            return ticket

    def complete(self, ticket: int, trees: Mapping[str, MaybeTree]) -> int:
        """Store ``trees`` (id -> tree) fetched under ``ticket``, except ids a cast invalidated
        since :meth:`begin` and ids the ticket did not ask for. Returns how many were stored."""
        with self._lock:
            asked, stale = self._open.pop(ticket, (frozenset(), set()))
            stored = 0
            for lb_id, tree in trees.items():
                if lb_id in asked and lb_id not in stale:
                    self._trees[lb_id] = tree
                    stored += 1
            return stored

    def abort(self, ticket: int) -> None:
        """The fetch under ``ticket`` failed: store nothing."""
        with self._lock:
            self._open.pop(ticket, None)

    def invalidate(self, lb_id: str) -> None:
        """A cast about ``lb_id`` arrived: forget its stored tree and any tree in flight."""
        with self._lock:
            self._trees.pop(lb_id, None)
            for asked, stale in self._open.values():
                if lb_id in asked:
                    stale.add(lb_id)

    def take(self, lb_id: str) -> tuple[bool, MaybeTree]:
        """``(True, tree)`` and forget it when a tree of ``lb_id`` is stored, else
        ``(False, None)``."""
        with self._lock:
            if lb_id in self._trees:
                return True, self._trees.pop(lb_id)
            return False, None

    def __len__(self) -> int:
        with self._lock:
            return len(self._trees)
