"""What the agent last sent of each load balancer's statistics, and whether a new reading is
worth sending: member health changes go at once, changed counters at most every
:data:`COUNTERS_EVERY` stats passes, and everything again every :data:`RESEND_EVERY` passes.

Used by :meth:`lbaas.agent.manager.AgentManager.collect_stats`, under the manager's lock (the
ledger has none of its own).
"""

from __future__ import annotations

from typing import Any

COUNTERS_EVERY = 10
"""Send changed counters at most every this many stats passes (member health changes go at
once)."""
RESEND_EVERY = 100
"""Send unchanged stats again after this many passes (the server adds counter differences, so
resending is harmless; it heals a lost cast). Until then an idle load balancer costs the server
nothing."""


class StatsLedger:
    """The stats last sent per load balancer and the passes since."""

    def __init__(self) -> None:
        self._last_sent: dict[str, dict[str, Any]] = {}
        self._passes_since_sent: dict[str, int] = {}

    def due(self, lb_id: str, stats: dict[str, Any], count_pass: bool = True) -> bool:
        """Whether to send ``stats``: nothing was sent yet, member health changed, counters
        changed and were last sent :data:`COUNTERS_EVERY` passes ago or more, or
        :data:`RESEND_EVERY` passes went by. ``count_pass`` records this pass (False for a load
        balancer no longer deployed)."""
        passes = self._passes_since_sent.get(lb_id, COUNTERS_EVERY - 1) + 1
        if count_pass:
            self._passes_since_sent[lb_id] = passes
        last = self._last_sent.get(lb_id)
        if last is None or last["members"] != stats["members"]:
            return True
        if passes >= RESEND_EVERY:
            return True
        return passes >= COUNTERS_EVERY and last["listeners"] != stats["listeners"]

    def holds(self, lb_id: str, stats: dict[str, Any]) -> bool:
        """Whether the server already has ``stats`` (the last sent equal them)."""
        return self._last_sent.get(lb_id) == stats

    def sent(self, lb_id: str, stats: dict[str, Any]) -> None:
        """``stats`` reached the server."""
        self._last_sent[lb_id] = stats
        self._passes_since_sent[lb_id] = 0

    def resend(self, lb_id: str) -> None:
        """Send the next reading whatever it holds (the server may have forgotten it)."""
        self._last_sent.pop(lb_id, None)

    def forget(self, lb_id: str) -> None:
        """``lb_id`` is no longer deployed here."""
        self._last_sent.pop(lb_id, None)
        self._passes_since_sent.pop(lb_id, None)
