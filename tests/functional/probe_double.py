"""A stand-in for the agents' VIP probe in the server-side rescheduling tests
(``test_agents.py``, ``test_availability_zone_scheduling.py``): the rule of
:mod:`lbaas.services.rescheduling` is logic over what a probe says. The real probe (ARP and
neighbour discovery on a bridge, asked of a live agent over RPC) is shown by the multi-node
end-to-end tests."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Probe:
    """Stands for the agents' VIP probe (the real one, ARP on a bridge, is shown by the
    multi-node e2e tests): the addresses in ``heard`` answer; ``broken`` fails every probe."""

    heard: set[str] = field(default_factory=set)
    broken: bool = False
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def answering(self, host: str, network_id: str, network_name: str | None,
                  addresses: list[str]) -> set[str] | None:
        self.calls.append((host, tuple(addresses)))
        if self.broken:
            raise TimeoutError("no answer")
        return self.heard.intersection(addresses)
