"""Housekeeping inside the server: move load balancers off dead agents and never leave objects
stuck in PENDING_*. Every step is idempotent, so several servers may run it at once."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from oslo_config import cfg
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.context import RequestContext
from lbaas.core.kinds import LOADBALANCER
from lbaas.core.status import PENDING, Provisioning
from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.services import agents
from lbaas.services.provider_api import Change, Providers
from lbaas.services.statuses import StatusCallbacks

LOG = logging.getLogger(__name__)
GIVE_UP_FACTOR = 3  # after this many pending_timeouts a change is declared failed


_RESEND_ACTION: dict[str, str] = {Provisioning.PENDING_CREATE: "create",
                                  Provisioning.PENDING_DELETE: "delete"}
"""The action sent again for a load balancer stuck in a PENDING_* status."""


class Housekeeper:
    """One pass of reconciliation; ``run_forever`` repeats it on a thread."""

    def __init__(self, conf: cfg.ConfigOpts, sessions: sessionmaker[Session],
                 providers: Providers, status: StatusCallbacks) -> None:
        self._conf = conf
        self._sessions = sessions
        self._providers = providers
        self._status = status
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        self.move_from_dead_agents()
        self.reconcile_stuck()

    def move_from_dead_agents(self) -> None:
        """Reschedule load balancers whose agent stopped reporting to a live one (of their
        availability zone's agents, for a load balancer in a zone)."""
        moved: list[tuple[str, str]] = []
        with write_session(self._sessions) as session:
            down = self._conf.housekeeping.agent_down_time
            dead = [a.id for a in session.scalars(select(models.Agent))
                    if not agents.is_alive(a, down)]
            if not dead:
                return
            lbs = session.scalars(select(models.LoadBalancer)
                                  .where(models.LoadBalancer.agent_id.in_(dead)))
            for lb in lbs:
                candidates = agents.agents_for(session, self._conf, lb, exclude=lb.agent_id)
                if not candidates:
                    continue
                LOG.warning("agent of load balancer %s is dead: moving it to %s", lb.id,
                            candidates[0].host)
                lb.agent_id = candidates[0].id
                moved.append((lb.provider, lb.id))
        for provider, lb_id in moved:
            self._dispatch(provider, Change("update", LOADBALANCER, lb_id, lb_id))

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
            LOG.info("load balancer %s pending for %ds: sending its work again", lb_id, age)
            self._dispatch(provider, Change(action, LOADBALANCER, lb_id, lb_id))

    def _dispatch(self, provider: str, change: Change) -> None:
        ctx = RequestContext(project_id="admin", roles=("admin",), user_name="housekeeping")
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

    def _loop(self) -> None:
        while not self._stop.wait(self._conf.housekeeping.interval):
            try:
                self.run_once()
            except Exception:
                LOG.exception("housekeeping pass failed")
