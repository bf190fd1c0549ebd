"""Which Linux bridge carries which network on this host (``[agent] bridge_mappings``).

The agent manager resolves a load balancer's VIP network to the bridge its VIP veth joins, by
network id first and network name second (the server puts ``vip_network_name`` into the tree
next to ``vip_network_id``), and reports the mappings in its heartbeats so that the server only
schedules load balancers to agents that can reach their network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lbaas.core.tree import LoadBalancerTree
from lbaas.drivers.interface.vip_plug import InterfaceError


class NoBridge(InterfaceError):
    """No ``bridge_mappings`` entry names the VIP's network."""


def parse_bridge_mappings(entries: Iterable[str]) -> dict[str, str]:
    """``["public:br-ex", "<network id>:br-int"]`` -> ``{network: bridge}``.

    Split at the last colon (bridge names have none). Raises ValueError on a malformed or
    repeated entry.
    """
    mappings: dict[str, str] = {}
    for entry in entries:
        network, sep, bridge = entry.strip().rpartition(":")
        if not sep or not network or not bridge:
            raise ValueError(f"bridge mapping {entry!r} is not <network>:<bridge>")
        if network in mappings:
            raise ValueError(f"network {network!r} is mapped twice in bridge_mappings")
        mappings[network] = bridge
    return mappings


def bridge_of(mappings: Mapping[str, str], network_id: str | None,
              network_name: str | None) -> str | None:
    """The bridge carrying a network, mapped by its id or else by its name; None if neither."""
    for key in (network_id, network_name):
        if key and key in mappings:
            return mappings[key]
    return None


def bridge_for(mappings: Mapping[str, str], tree: LoadBalancerTree) -> str:
    """The bridge carrying the VIP network of ``tree``, by network id or else by name."""
    network_id, network_name = tree.vip_network_id, tree.vip_network_name
    bridge = bridge_of(mappings, network_id, network_name)
    if bridge is not None:
        return bridge
    raise NoBridge(
        f"no bridge_mappings entry for the VIP network {network_name or network_id!r} "
        "on this agent"
    )
