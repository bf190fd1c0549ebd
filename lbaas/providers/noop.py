"""The noop provider: accepts everything and marks it ACTIVE, like Octavia's noop driver.

For API-only deployments, client tests and API benchmarks. Work runs on a background thread,
after an optional ``[noop_provider] completion_delay``, so callers see PENDING_* first as they
would with a real provider.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from lbaas.api.context import RequestContext
from lbaas.providers.base import Change, ProviderDriver
from lbaas.services.statuses import StatusCallbacks

LOG = logging.getLogger(__name__)


class NoopProvider(ProviderDriver):
    name = "noop"
    description = "Marks every object ACTIVE without building anything (testing, API only)."

    def __init__(self, status: StatusCallbacks, completion_delay: float = 0.0) -> None:
        super().__init__(status)
        self._delay = completion_delay
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="noop-provider")
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def refresh(self, ctx: RequestContext, change: Change) -> None:
        with self._lock:
            if change.lb_id in self._pending:
                return  # a completion for this load balancer is already queued: it covers this
            self._pending.add(change.lb_id)
        self._pool.submit(self._complete, ctx.request_id, change.lb_id)

    def _complete(self, request_id: str, lb_id: str) -> None:
        if self._delay:
            time.sleep(self._delay)
        with self._lock:
            self._pending.discard(lb_id)
        try:
            self.status.finish_changes(lb_id, ok=True, assume_healthy=True)
        except Exception:
            LOG.exception("noop completion failed for %s", lb_id,
                          extra={"request_id": request_id})

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
