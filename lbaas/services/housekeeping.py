"""Housekeeping inside the server: move load balancers off dead agents and never leave objects
stuck in PENDING_*.

Every ``lbaas server`` (each API worker process) runs a :class:`Housekeeper`; only the holder of
the ``housekeeping`` lease (:mod:`lbaas.db.leases`) acts at a pass, so two servers never probe,
move or re-send the same thing twice, and when the holder dies another server takes the lease
over after :data:`LEASE_PASSES` passes. Moving off dead agents follows the rule of
:mod:`lbaas.services.rescheduling`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid

from oslo_config import cfg
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.context import RequestContext
from lbaas.core.kinds import LOADBALANCER
from lbaas.core.request_ids import current_request_id, request_scope
from lbaas.core.status import PENDING, Provisioning
from lbaas.db import leases, models
from lbaas.db.engine import read_session
from lbaas.services.provider_api import Change, Providers
from lbaas.services.rescheduling import AddressProbe, Rescheduler
from lbaas.services.statuses import StatusCallbacks

LOG = logging.getLogger(__name__)
GIVE_UP_FACTOR = 3  # after this many pending_timeouts a change is declared failed
LEASE = "housekeeping"
LEASE_PASSES = 3
"""The lease lasts this many housekeeping intervals: a holder that misses that many passes
(stopped, killed, cut off from the database) loses it to another server."""


_RESEND_ACTION: dict[str, str] = {Provisioning.PENDING_CREATE: "create",
                                  Provisioning.PENDING_DELETE: "delete"}
"""The action sent again for a load balancer stuck in a PENDING_* status."""


class Housekeeper:
    """One pass of reconciliation; ``run_forever`` repeats it on a thread."""

    def __init__(self, conf: cfg.ConfigOpts, sessions: sessionmaker[Session],
                 providers: Providers, status: StatusCallbacks,
                 probe: AddressProbe | None = None) -> None:
        """``probe`` asks agents whether addresses answer (the haproxy provider); without it,
        nothing is moved off dead agents."""
        self._conf = conf
        self._sessions = sessions
        self._providers = providers
        self._status = status
        self._rescheduler = Rescheduler(conf, sessions, probe)
        self.holder = f"{conf.host or socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> bool:
        """One pass, if this server holds the lease; returns whether it did."""
        seconds = self._conf.housekeeping.interval * LEASE_PASSES
        if not leases.hold(self._sessions, LEASE, self.holder, seconds):
            return False
        self.move_from_dead_agents()
        self.reconcile_stuck()
        return True

    def move_from_dead_agents(self) -> None:
        """Rebuild elsewhere the load balancers of dead agents whose VIPs are silent."""
        for lb in self._rescheduler.run_once():
            self._dispatch(lb.provider, Change("update", LOADBALANCER, lb.id, lb.id),
                           "moved off a dead agent")

    def reconcile_stuck(self) -> None:
        """Re-send work for objects pending too long; fail it after GIVE_UP_FACTOR times."""
        timeout = self._conf.housekeeping.pending_timeout
        now = models.utcnow()
        with read_session(self._sessions) as session:
            rows = list(session.execute(
                select(models.LoadBalancer.id, models.LoadBalancer.provider,
                       models.LoadBalancer.provisioning_status,
                       models.LoadBalancer.status_changed_at, models.LoadBalancer.revision)
                .where(models.LoadBalancer.provisioning_status.in_(PENDING),
                       models.LoadBalancer.status_changed_at
                       < now - dt.timedelta(seconds=timeout))))
        for lb_id, provider, status, changed, revision in rows:
            age = (now - changed).total_seconds()
            if age > timeout * GIVE_UP_FACTOR:
                LOG.error("load balancer %s stuck in %s for %ds: marking it ERROR", lb_id,
                          status, age)
                self._status.finish_changes(lb_id, ok=False, revision=revision,
                                            reason=f"no provider report for {int(age)}s")
                continue
            action = _RESEND_ACTION.get(status, "update")
            self._dispatch(provider, Change(action, LOADBALANCER, lb_id, lb_id),
                           f"pending in {status} for {int(age)}s")

    def _dispatch(self, provider: str, change: Change, why: str) -> None:
        """Send ``change`` under a new request id of its own (logged, with the pass's id), so
        that the agent's lines for this one resend can be told from the original request's and
        from the pass's other resends."""
        pass_id = current_request_id()
        with request_scope() as request_id:
            LOG.info("load balancer %s %s: sending its work again as request %s (housekeeping "
                     "pass %s)", change.lb_id, why, request_id, pass_id)
            ctx = RequestContext(project_id="admin", roles=("admin",),
                                 user_name="housekeeping", request_id=request_id)
            try:
                self._providers.get(provider).refresh(ctx, change)
            except Exception:
                LOG.exception("housekeeping could not dispatch %s", change)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            leases.release(self._sessions, LEASE, self.holder)
        except Exception as exc:
            LOG.warning("could not release the housekeeping lease: %s", exc)

    def _loop(self) -> None:
        while not self._stop.wait(self._conf.housekeeping.interval):
            with request_scope():  # one id per pass: its log lines and the casts it sends
                try:
                    self.run_once()
                except Exception:
                    LOG.exception("housekeeping pass failed")
