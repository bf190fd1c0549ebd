"""The read-only "is this VIP already plugged?" decision (lbaas.drivers.interface.plugged): an
unchanged VIP is verified without re-plugging; anything missing or different asks for a plug.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

import pytest

from lbaas.drivers.interface.plugged import Link, Route, VipState, WantedVip, differences

SYSCTLS = {"net.ipv4.ip_nonlocal_bind": 1, "net.ipv6.ip_nonlocal_bind": 1}
WANTED = WantedVip(
    vip=ipaddress.ip_interface("10.0.0.10/24"),
    gateway=ipaddress.ip_address("10.0.0.1"),
    sysctls=SYSCTLS,
)
BRIDGE = Link(index=3, kind="bridge", mtu=1500)
OUTER = Link(index=40, kind="veth", peer=2, master=3, mtu=1500, operstate="UP")
INNER = Link(index=2, kind="veth", peer=40, mtu=1500, address="aa:bb:cc:00:00:01")
PLUGGED = VipState(
    namespace=True,
    bridge=BRIDGE,
    outer=OUTER,
    lo=Link(index=1, operstate="UNKNOWN"),
    inner=INNER,
    addresses=frozenset(
        {ipaddress.ip_interface("10.0.0.10/24"), ipaddress.ip_interface("fe80::1/64")}
    ),
    default_routes=(Route(ipaddress.ip_address("10.0.0.1"), 2),),
    sysctls={"net.ipv4.ip_nonlocal_bind": "1", "net.ipv6.ip_nonlocal_bind": "1"},
)


def with_(**changes: Any) -> VipState:
    return dataclasses.replace(PLUGGED, **changes)


def test_plugged_vip_has_no_differences() -> None:
    assert differences(WANTED, PLUGGED) == []


def test_wanted_mac_is_compared_case_insensitively() -> None:
    assert differences(dataclasses.replace(WANTED, mac="AA:BB:CC:00:00:01"), PLUGGED) == []


def test_missing_ipv6_sysctl_is_fine_when_ipv6_is_disabled() -> None:
    state = with_(sysctls={"net.ipv4.ip_nonlocal_bind": "1", "net.ipv6.ip_nonlocal_bind": None})
    assert differences(WANTED, state) == []


def test_vip_without_gateway_wants_no_default_route() -> None:
    wanted = dataclasses.replace(WANTED, gateway=None)
    assert differences(wanted, with_(default_routes=())) == []
    assert differences(wanted, PLUGGED) == ["default routes differ"]


def test_missing_namespace_is_the_only_difference_reported() -> None:
    assert differences(WANTED, VipState(namespace=False)) == ["no namespace"]


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        pytest.param(with_(bridge=None), "no such bridge", id="bridge-missing"),
        pytest.param(with_(bridge=dataclasses.replace(BRIDGE, kind="dummy")), "no such bridge",
                     id="bridge-not-a-bridge"),
        pytest.param(with_(outer=None), "no outer veth", id="outer-missing"),
        pytest.param(with_(outer=dataclasses.replace(OUTER, master=9)),
                     "outer veth not in the bridge", id="outer-in-another-bridge"),
        pytest.param(with_(outer=dataclasses.replace(OUTER, up=False)), "outer veth down",
                     id="outer-down"),
        pytest.param(with_(bridge=dataclasses.replace(BRIDGE, mtu=9000)),
                     "outer veth MTU differs from the bridge's", id="bridge-mtu-changed"),
        pytest.param(with_(inner=None), "no VIP interface inside", id="inner-missing"),
        pytest.param(with_(inner=dataclasses.replace(INNER, peer=41)), "veth ends not paired",
                     id="inner-peer-elsewhere"),
        pytest.param(with_(outer=dataclasses.replace(OUTER, peer=7)), "veth ends not paired",
                     id="outer-peer-elsewhere"),
        pytest.param(with_(inner=dataclasses.replace(INNER, operstate="LOWERLAYERDOWN")),
                     "VIP interface not up", id="inner-not-operationally-up"),
        pytest.param(with_(inner=dataclasses.replace(INNER, up=False)), "VIP interface not up",
                     id="inner-down"),
        pytest.param(with_(lo=Link(index=1, up=False)), "lo down", id="lo-down"),
        pytest.param(with_(addresses=frozenset()), "addresses differ", id="vip-missing"),
        pytest.param(with_(addresses=PLUGGED.addresses | {ipaddress.ip_interface("10.0.0.99/24")}),
                     "addresses differ", id="extra-address"),
        pytest.param(with_(addresses=frozenset({ipaddress.ip_interface("10.0.0.10/16")})),
                     "addresses differ", id="other-prefix-length"),
        pytest.param(with_(default_routes=()), "default routes differ", id="route-missing"),
        pytest.param(with_(default_routes=(Route(ipaddress.ip_address("10.0.0.254"), 2),)),
                     "default routes differ", id="route-via-another-gateway"),
        pytest.param(with_(default_routes=(*PLUGGED.default_routes,
                                           Route(ipaddress.ip_address("fd00::1"), 2))),
                     "default routes differ", id="extra-ipv6-default-route"),
        pytest.param(with_(sysctls={"net.ipv4.ip_nonlocal_bind": "0"}),
                     "sysctl net.ipv4.ip_nonlocal_bind differs", id="sysctl-reset"),
    ],
)
def test_any_difference_asks_for_a_plug(state: VipState, problem: str) -> None:
    assert problem in differences(WANTED, state)


def test_other_wanted_mac_asks_for_a_plug() -> None:
    wanted = dataclasses.replace(WANTED, mac="aa:bb:cc:00:00:02")
    assert differences(wanted, PLUGGED) == ["VIP interface MAC differs"]


# --- a source address of the other family (dual-stack VIP network) -----------------------------

SOURCE = ipaddress.ip_interface("fd00::20/64")
SOURCE_GATEWAY = ipaddress.ip_address("fd00::1")
WANTED_SOURCE = dataclasses.replace(WANTED, sources=((SOURCE, SOURCE_GATEWAY),))
PLUGGED_SOURCE = with_(
    addresses=PLUGGED.addresses | {SOURCE},
    default_routes=(Route(SOURCE_GATEWAY, 2), Route(ipaddress.ip_address("10.0.0.1"), 2)),
)


def test_source_address_and_its_gateway_are_wanted() -> None:
    assert differences(WANTED_SOURCE, PLUGGED_SOURCE) == []  # route order does not matter
    assert differences(WANTED_SOURCE, PLUGGED) == ["addresses differ", "default routes differ"]
    assert differences(WANTED, PLUGGED_SOURCE) == ["addresses differ", "default routes differ"]


def test_source_address_without_gateway_wants_one_default_route() -> None:
    wanted = dataclasses.replace(WANTED, sources=((SOURCE, None),))
    assert differences(wanted, with_(addresses=PLUGGED.addresses | {SOURCE})) == []
    assert differences(wanted, PLUGGED_SOURCE) == ["default routes differ"]


def test_duplicate_default_route_differs() -> None:
    twice = with_(default_routes=PLUGGED.default_routes * 2)
    assert differences(WANTED, twice) == ["default routes differ"]
