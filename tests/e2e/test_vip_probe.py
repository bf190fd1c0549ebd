"""End to end: the duplicate-address probe (lbaas.drivers.interface.probe) on a real bridge.

Hosts in namespaces hold IPv4 and IPv6 addresses on a lab bridge; the probe, written onto the
bridge from the root namespace, hears exactly the addresses that are held, on the wire, and
changes nothing in the hosts' neighbour tables.
"""

from __future__ import annotations

import pytest

from lbaas.drivers.interface.probe import answering
from tests.netlab import Lab, skip_unless_root_and_tools

pytestmark = [pytest.mark.e2e, skip_unless_root_and_tools("ip")]


def test_probe_hears_held_addresses_only() -> None:
    with Lab() as lab:
        bridge = lab.bridge("br")
        lab.host("v4", bridge, "10.233.0.11/24")
        v6 = lab.host("v6", bridge, "fd00:233::11/64")
        held = {"10.233.0.11", "fd00:233::11"}
        free = {"10.233.0.12", "fd00:233::12"}
        assert answering(bridge, sorted(held | free), wait=1.0) == held
        v6.run(["ip", "link", "set", "eth0", "down"])  # the holder leaves the wire
        assert answering(bridge, sorted(held), wait=1.0) == {"10.233.0.11"}


def test_probe_of_a_missing_bridge_raises() -> None:
    with pytest.raises(OSError):
        answering("lbtnosuchbr", ["10.233.0.11"], wait=0.2)


def test_probe_of_nothing_sends_nothing() -> None:
    assert answering("lbtnosuchbr", []) == set()
