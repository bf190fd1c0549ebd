"""The noop provider: accepts everything and marks it ACTIVE, like Octavia's noop driver.

For API-only deployments, client tests and API benchmarks. Work runs on one background thread,
after an optional ``[noop_provider] completion_delay``, so callers see PENDING_* first as they
would with a real provider. The thread completes load balancers in batches: whatever became due
within :data:`BATCH_WINDOW` (5 ms) is closed together (load balancers without children in one
transaction of two statements), so a stream of creates does not pay one transaction, and one
thread switch per statement, for each of them.
"""

from __future__ import annotations

import logging
import threading
import time

from lbaas.core.context import RequestContext
from lbaas.providers.base import Change, ProviderDriver
from lbaas.services.availability_zones import VALID_VIP_NETWORKS
from lbaas.services.capabilities import ZoneKey, list_key, text_key
from lbaas.services.statuses import StatusCallbacks

LOG = logging.getLogger(__name__)

BATCH_WINDOW = 0.005
"""Seconds a change waits, beyond the configured delay, for others to be completed with it."""


ZONE_KEYS: dict[str, ZoneKey] = {
    "compute_zone": text_key("The compute availability zone.", nullable=True),
    "volume_zone": text_key("The volume availability zone.", nullable=True),
    "management_network": text_key("The management network ID.", nullable=True),
    VALID_VIP_NETWORKS: list_key("The ids of the networks a VIP in the zone may be on."),
}
"""The availability zone capabilities of Octavia's reference (amphora) provider, so that
clients and test suites written for it run against the noop provider: octavia-tempest-plugin
expects ``compute_zone`` described as the reference provider does, and sends
``"compute_zone": null`` when no compute zone is configured. Nothing is built, so nothing
is ignored; ``valid_vip_networks`` is enforced at create like for every provider."""


class NoopProvider(ProviderDriver):
    name = "noop"
    description = "Marks every object ACTIVE and builds nothing (for tests and API-only use)."
    zone_keys = ZONE_KEYS

    def __init__(self, status: StatusCallbacks, completion_delay: float = 0.0) -> None:
        super().__init__(status)
        self._delay = completion_delay + BATCH_WINDOW
        self._due: dict[str, tuple[float, str]] = {}  # lb id -> (due time, request id)
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="noop-provider", daemon=True)
        self._thread.start()

    def refresh(self, ctx: RequestContext, change: Change) -> None:
        with self._changed:
            if change.lb_id in self._due:
                return  # a completion for this load balancer is already queued: it covers this
            self._due[change.lb_id] = (time.monotonic() + self._delay, ctx.request_id)
            self._changed.notify()

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self.status.finish_many(list(batch))
            except Exception:
                LOG.exception("noop completion failed for %s", ", ".join(batch),
                              extra={"request_id": ",".join(batch.values())})

    def _next_batch(self) -> dict[str, str] | None:
        """Wait for the load balancers that are due (all of them when stopping); None when
        stopped with nothing left."""
        with self._changed:
            while True:
                now = time.monotonic()
                due = {lb: rid for lb, (at, rid) in self._due.items()
                       if at <= now or self._stopping}
                if due:
                    for lb_id in due:
                        del self._due[lb_id]
                    return due
                if self._stopping:
                    return None
                earliest = min((at for at, _ in self._due.values()), default=None)
                self._changed.wait(None if earliest is None else earliest - now)

    def shutdown(self) -> None:
        """Complete what is queued (without waiting out the delay), then stop the thread."""
        with self._changed:
            self._stopping = True
            self._changed.notify()
        self._thread.join()
