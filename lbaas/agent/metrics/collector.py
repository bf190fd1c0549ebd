"""One scrape of the agent's metrics: every load balancer's HAProxy exporter, relabelled, plus
the agent's own health.

:class:`lbaas.agent.service.AgentService` builds one :class:`MetricsCollector` over the trees
its manager deployed and serves :meth:`MetricsCollector.collect` on ``[agent] metrics_listen``
(:mod:`lbaas.agent.metrics.endpoint`); ``bench/metrics_scrape.py`` drives the same code. The
exporters are read by a few threads (each read waits on its haproxy), while this thread
relabels the answers in order (:mod:`.exposition`). One collection runs at a time;
a scrape that arrives while one runs (a second Prometheus of an HA pair) gets its result
rather than starting another.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from prometheus_client import generate_latest

from lbaas.agent.metrics.counters import AgentMetrics
from lbaas.agent.metrics.exposition import Exposition, Owner, labels
from lbaas.core.tree import LoadBalancerTree
from lbaas.drivers.haproxy import exporter

LOG = logging.getLogger(__name__)

SCOPES = ("frontend", "backend", "server")
SCRAPE_THREADS = 4
"""Exporters read at once while this thread relabels (``bench/metrics_scrape.py``, 1,000 load
balancers on two cores: 1 thread 1.27 s, 4 threads 0.79 s, 8 threads 0.74 s, within noise)."""
SCRAPE_TIMEOUT = 2.0
"""Seconds one exporter may take; a haproxy that does not answer counts as down."""


@dataclass(frozen=True)
class Target:
    """A load balancer to scrape: its tree and its exporter's socket."""

    tree: LoadBalancerTree
    socket: str


class MetricsCollector:
    """Builds the text of one scrape (Prometheus text format 0.0.4)."""

    def __init__(self, targets: Callable[[], Sequence[Target]], metrics: AgentMetrics,
                 threads: int = SCRAPE_THREADS, timeout: float = SCRAPE_TIMEOUT) -> None:
        self._targets = targets
        self._metrics = metrics
        self._timeout = timeout
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="lbaas-metrics")
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[LoadBalancerTree, Owner]] = {}
        self._last: tuple[float, bytes] | None = None  # when a collection ended, its text
        self._waiting_lock = threading.Lock()
        self._waiting = 0  # scrapes arrived and not answered yet

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def collect(self) -> bytes:
        """Read every exporter and render the whole scrape."""
        arrived = time.monotonic()
        with self._waiting_lock:
            self._waiting += 1
        try:
            with self._lock:
                if self._last is not None and self._last[0] >= arrived:
                    return self._last[1]
                body = self._collect()
                with self._waiting_lock:
                    # Kept only for the scrapes already waiting: a 1,000-LB text is ~33 MB.
                    shared = self._waiting > 1
                self._last = (time.monotonic(), body) if shared else None
                return body
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    def _collect(self) -> bytes:
        started = time.monotonic()
        targets = list(self._targets())
        exposition = Exposition()
        info: list[str] = []
        up: list[str] = []
        for target, text in zip(targets, self._pool.map(self._scrape, targets),
                                strict=True):
            tree = target.tree
            owner = self._owner(tree)
            base = labels(loadbalancer_id=tree.id, project_id=tree.project_id)
            info.append(f'lbaas_loadbalancer_info{{{base},{labels(name=tree.name)}}} 1')
            up.append(f"lbaas_haproxy_up{{{base}}} {0 if text is None else 1}")
            if text is not None:
                exposition.add_haproxy(text, owner)
        self._forget_others({target.tree.id for target in targets})
        exposition.add_family("lbaas_loadbalancer_info",
                              "A load balancer this agent runs (its name), always 1.",
                              "gauge", info)
        exposition.add_family("lbaas_haproxy_up",
                              "Whether the load balancer's haproxy exporter answered.",
                              "gauge", up)
        exposition.add_family("lbaas_agent_loadbalancers",
                              "Load balancers this agent runs.", "gauge",
                              [f"lbaas_agent_loadbalancers {len(targets)}"])
        exposition.add_family(
            "lbaas_agent_scrape_duration_seconds",
            "Seconds this scrape took to read and relabel every haproxy exporter.", "gauge",
            [f"lbaas_agent_scrape_duration_seconds {time.monotonic() - started:.6f}"])
        return exposition.text().encode() + generate_latest(self._metrics.registry)

    def _scrape(self, target: Target) -> str | None:
        try:
            return exporter.scrape(target.socket, scopes=SCOPES, timeout=self._timeout)
        except (OSError, exporter.ExporterError) as exc:
            LOG.debug("no metrics from load balancer %s: %s", target.tree.id, exc)
            return None

    def _owner(self, tree: LoadBalancerTree) -> Owner:
        """The relabelling of ``tree``, kept while the manager holds that same tree."""
        known = self._owners.get(tree.id)
        if known is not None and known[0] is tree:
            return known[1]
        owner = Owner.of(tree)
        self._owners[tree.id] = (tree, owner)
        return owner

    def _forget_others(self, lb_ids: set[str]) -> None:
        for lb_id in self._owners.keys() - lb_ids:
            del self._owners[lb_id]
