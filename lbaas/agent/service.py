"""The agent process: wires the plugin RPC client, the device driver, the manager, the RPC server
and the periodic threads together, and starts and stops them.

Built by the ``lbaas agent`` command and by the all-in-one process (which passes its in-process
transport). Three periodic threads, so that a slow pass never delays another: heartbeats every
``report_interval``; ``sync_state`` at start, every ``resync_interval`` and soon after a temporary
failure; stats every ``stats_interval`` (every haproxy checked cheaply, the stats of busy load
balancers read, quiet ones rarely: :mod:`lbaas.agent.stats_pacing`; the log receiver's health-check
events and access lines wake a load balancer's reading). Stopping the agent leaves every haproxy
running: load balancers keep serving while the agent restarts, and its first sync adopts them.
Every pass runs under a new request id (``req-<uuid>``), which the work it queues and the reports
it sends carry (:mod:`lbaas.core.request_ids`). With ``[agent] metrics_listen`` set, it also serves
Prometheus metrics of its load balancers and of itself (:mod:`lbaas.agent.metrics.endpoint`,
:mod:`lbaas.agent.metrics.collector`).
"""

from __future__ import annotations

import contextvars
import logging
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import oslo_messaging as messaging
from oslo_config import cfg

from lbaas.agent.access_logs.receiver import AccessLogService
from lbaas.agent.endpoint import AgentRpcEndpoint
from lbaas.agent.manager import AgentManager, Driver
from lbaas.agent.metrics.collector import MetricsCollector, Target
from lbaas.agent.metrics.counters import AgentMetrics
from lbaas.agent.metrics.endpoint import MetricsEndpoint
from lbaas.agent.metrics.metered_plugin import MeteredPlugin
from lbaas.agent.metrics.prometheus_listener import PrometheusListenerService
from lbaas.core.request_ids import request_scope
from lbaas.core.scrape_token import configured_token
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from lbaas.drivers.haproxy.state_paths import StatePaths
from lbaas.rpc.plugin_api import PluginApi
from lbaas.rpc.topics import agent_topic
from lbaas.rpc.transport import make_server

LOG = logging.getLogger(__name__)

RESYNC_RETRY_DELAY = 5.0
"""Seconds between full syncs while temporary failures keep asking for one."""
RESYNC_POLL = 0.5
"""Seconds between looks at the manager's ``needs_resync`` flag."""


class AgentService:
    """One agent: serves ``lbaas_agent.<host>`` and runs the periodic passes."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        transport: messaging.RPCTransport,
        driver: Driver | None = None,
        *,
        keep_log_sockets: bool = False,
    ) -> None:
        """``driver`` defaults to the HAProxy namespace driver (tests may pass another).
        ``keep_log_sockets``: :meth:`stop` leaves the log sockets listening in their holder
        (:mod:`lbaas.agent.access_logs.holder`) for the haproxy processes that outlive the
        agent and for the next agent to take over: the daemons (``lbaas agent``, ``lbaas
        up``) do; in-process stacks release everything.
        Raises ``ScrapeTokenError`` when ``[metrics] token_file`` is unusable."""
        self.conf = conf
        self.keep_log_sockets = keep_log_sockets
        self.host: str = conf.host or socket.gethostname()
        self.plugin = PluginApi(transport, self.host)
        self.driver: Driver = driver or HaproxyNamespaceDriver(conf)
        self._stop = threading.Event()
        self.metrics = AgentMetrics()
        self.manager = AgentManager(conf, MeteredPlugin(self.plugin, self.metrics), self.driver,
                                    stopping=self._stop, metrics=self.metrics)
        # haproxy's logs (access lines, health-check events, which also tell the stats pass
        # what to read); bad [access_log] options stop the agent here. Only the HAProxy
        # driver's configs log to it.
        access_logs = AccessLogService(conf, self.host,
                                       on_activity=self.manager.stats_activity)
        self.access_logs = (access_logs if isinstance(self.driver, HaproxyNamespaceDriver)
                            else None)
        listen = conf.agent.metrics_listen
        # The token file is read here, so that an unusable one stops the agent at start.
        self._metrics_endpoint = (MetricsEndpoint(listen, self._collect,
                                                  configured_token(conf.metrics.token_file))
                                  if listen else None)
        self._collector: MetricsCollector | None = None
        self.rpc_server = make_server(
            transport, agent_topic(self.host), self.host, [AgentRpcEndpoint(self.manager)]
        )
        self._threads: list[threading.Thread] = []
        self._started = False
        # What the PROMETHEUS listeners of the HAProxy driver's load balancers forward to.
        self.prometheus_listeners = (PrometheusListenerService(conf.state_path)
                                     if isinstance(self.driver, HaproxyNamespaceDriver) else None)

    def start(self) -> None:
        """Start serving casts and the periodic threads (the first sync runs at once)."""
        with request_scope():  # the start-up's lines have an id too
            self._start()

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        # pyroute2's synchronous API runs an event loop of its own: never on a thread already
        # running one (the all-in-one starts its agent from the API's asyncio lifespan).
        if self.access_logs is not None:
            self.access_logs.start()  # before haproxy can be (re)started by a sync
        with ThreadPoolExecutor(1, thread_name_prefix="lbaas-agent-prepare") as pool:
            pool.submit(contextvars.copy_context().run, self.driver.prepare_host).result()
        LOG.info("lbaas agent on host %s prepared its host; connecting to the server", self.host)
        if self.prometheus_listeners is not None:
            try:
                self.prometheus_listeners.start()
            except OSError:  # the load balancers still serve; their PROMETHEUS listeners 503
                LOG.exception("cannot serve PROMETHEUS listeners on %s",
                              self.prometheus_listeners.socket_path)
        self.rpc_server.start()
        agent = self.conf.agent
        self._spawn("report", self._every(agent.report_interval, self.manager.report_state))
        self._spawn("sync", self._sync_loop)
        self._spawn("stats", self._every(agent.stats_interval, self.manager.collect_stats))
        self._spawn("roles", self._every(self.conf.keepalived.role_interval,
                                         self.manager.watch_roles))
        self._start_metrics()
        LOG.info("lbaas agent started on host %s", self.host)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the RPC server, the periodic threads and the work queue; haproxy keeps running."""
        with request_scope():
            self._stop_all(timeout)

    def _stop_all(self, timeout: float) -> None:
        if not self._started:
            return
        self._started = False
        self._stop.set()
        self._stop_metrics()
        self.rpc_server.stop()
        self.rpc_server.wait()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        if not self.manager.stop(max(0.0, deadline - time.monotonic())):
            LOG.warning("lbaas agent stopped with work still running")
        if self.prometheus_listeners is not None:
            self.prometheus_listeners.stop()
        if self.access_logs is not None:
            self.access_logs.stop(release=not self.keep_log_sockets)
        LOG.info("lbaas agent stopped on host %s", self.host)

    # -- metrics -------------------------------------------------------------------------------

    @property
    def metrics_address(self) -> str | None:
        """``host:port`` of the metrics endpoint while it serves, else None."""
        return None if self._metrics_endpoint is None else self._metrics_endpoint.address

    def _start_metrics(self) -> None:
        """Serve the metrics; an address that cannot be bound is logged, and the agent goes on
        serving its load balancers without the endpoint."""
        if self._metrics_endpoint is None:
            return
        self._collector = MetricsCollector(self._metrics_targets, self.metrics)
        try:
            self._metrics_endpoint.start()
        except OSError as exc:
            LOG.error("lbaas agent cannot serve its metrics on %s: %s",
                      self.conf.agent.metrics_listen, exc)
            return
        LOG.info("lbaas agent serves Prometheus metrics on http://%s/metrics",
                 self.metrics_address)

    def _stop_metrics(self) -> None:
        if self._metrics_endpoint is not None:
            self._metrics_endpoint.stop()
        if self._collector is not None:
            self._collector.close()
            self._collector = None

    def _collect(self) -> bytes:
        collector = self._collector
        if collector is None:
            raise RuntimeError("the agent is stopping")
        return collector.collect()

    def _metrics_targets(self) -> list[Target]:
        state_path = self.conf.state_path
        return [Target(tree, str(StatePaths.for_load_balancer(state_path, tree.id)
                                 .metrics_socket))
                for tree in self.manager.deployed_trees()]

    # -- periodic threads ----------------------------------------------------------------------

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"lbaas-agent-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _every(self, interval: float, task: Callable[[], None]) -> Callable[[], None]:
        """A loop running ``task`` now and then every ``interval`` seconds until stopped."""

        def loop() -> None:
            while not self._stop.is_set():
                started = time.monotonic()
                self._guarded(task)
                self._stop.wait(max(0.0, interval - (time.monotonic() - started)))

        return loop

    def _sync_loop(self) -> None:
        """``sync_state`` now, every ``resync_interval``, and soon when ``needs_resync``; the
        retries of failed load balancers when they are due."""
        interval = self.conf.agent.resync_interval
        retry = min(RESYNC_RETRY_DELAY, interval)
        last = float("-inf")
        while not self._stop.is_set():
            since = time.monotonic() - last
            if since >= interval or (self.manager.needs_resync and since >= retry):
                last = time.monotonic()
                self._guarded(self.manager.sync_state)
            self._guarded(self.manager.retry_due)
            self._stop.wait(RESYNC_POLL)

    @staticmethod
    def _guarded(task: Callable[[], None]) -> None:
        """Run ``task`` under a request id of its own (the work it queues and the reports it
        sends carry it); a failure is logged and the loop goes on."""
        with request_scope():
            try:
                task()
            except Exception:
                LOG.exception("periodic task %s failed", getattr(task, "__name__", task))
