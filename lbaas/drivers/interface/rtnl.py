"""Minimal read-only rtnetlink queries: one link by name, the addresses and the default routes.

Used by :mod:`lbaas.drivers.interface.plugged` to verify a plugged VIP on every sync of every load
balancer. The socket I/O is plain (a request is one ``send`` and a few ``recv`` on an
``AF_NETLINK`` socket) because ``pyroute2.IPRoute``, which every *change* goes through
(:mod:`.links`), runs an asyncio event loop per request; at a thousand load balancers that
overhead was most of a resync. pyroute2 still encodes the requests and decodes the answers: its
message classes (``ifinfmsg``, ``ifaddrmsg``, ``rtmsg``) and its ``MarshalRtnl`` parser.

:class:`RtnlSocket` lives in the network namespace of the thread that creates it (see
:func:`lbaas.drivers.interface.namespaces.run_in_namespace`).
"""

from __future__ import annotations

import errno
import ipaddress
import itertools
import os
import socket
from dataclasses import dataclass
from types import TracebackType

from pyroute2.iproute.linux import DEFAULT_TABLE as RT_TABLE_MAIN
from pyroute2.netlink import NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, nlmsg
from pyroute2.netlink.rtnl import RTM_GETADDR, RTM_GETLINK, RTM_GETROUTE, rtypes
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.marshal import MarshalRtnl
from pyroute2.netlink.rtnl.rtmsg import rtmsg

RTN_UNICAST = rtypes["RTN_UNICAST"]
_SEQ = itertools.count(1)

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class LinkInfo:
    """The attributes of one link that a VIP check looks at."""

    index: int
    flags: int
    name: str | None
    kind: str | None
    peer: int | None  # IFLA_LINK
    master: int | None
    mtu: int | None
    address: str | None
    operstate: str | None  # as pyroute2 and ``ip link`` name it: "UP", "DOWN", "UNKNOWN", ...


@dataclass(frozen=True)
class DefaultRoute:
    """A unicast default route of the main table."""

    family: int
    gateway: IPAddress | None
    oif: int | None


def parse_link(msg: nlmsg) -> LinkInfo:
    """A decoded RTM_NEWLINK message -> :class:`LinkInfo`."""
    return LinkInfo(
        index=msg["index"],
        flags=msg["flags"],
        name=msg.get_attr("IFLA_IFNAME"),
        kind=msg.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
        peer=msg.get_attr("IFLA_LINK"),
        master=msg.get_attr("IFLA_MASTER"),
        mtu=msg.get_attr("IFLA_MTU"),
        address=msg.get_attr("IFLA_ADDRESS"),
        operstate=msg.get_attr("IFLA_OPERSTATE"),
    )


def parse_address(msg: nlmsg) -> tuple[int, IPInterface] | None:
    """A decoded RTM_NEWADDR message -> (link index, address/prefix length)."""
    address = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
    if address is None or msg["family"] not in (socket.AF_INET, socket.AF_INET6):
        return None
    return msg["index"], ipaddress.ip_interface(f"{address}/{msg['prefixlen']}")


def parse_default_route(msg: nlmsg) -> DefaultRoute | None:
    """A decoded RTM_NEWROUTE message -> :class:`DefaultRoute`, or None for any other route."""
    table = msg.get_attr("RTA_TABLE") or msg["table"]
    if msg["dst_len"] != 0 or table != RT_TABLE_MAIN or msg["type"] != RTN_UNICAST:
        return None
    gateway = msg.get_attr("RTA_GATEWAY")
    return DefaultRoute(
        family=msg["family"],
        gateway=None if gateway is None else ipaddress.ip_address(gateway),
        oif=msg.get_attr("RTA_OIF"),
    )


class RtnlSocket:
    """A NETLINK_ROUTE socket for read-only requests, in the creating thread's namespace."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self._sock.bind((0, 0))
        self._marshal = MarshalRtnl()

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> RtnlSocket:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _request(self, request: nlmsg, kind: int, flags: int) -> list[nlmsg]:
        """Send ``request`` as message type ``kind``; its decoded answers (a dump: until
        NLMSG_DONE). Raises OSError with the kernel's errno."""
        seq = next(_SEQ) & 0xFFFFFFFF
        request["header"]["type"] = kind
        request["header"]["flags"] = NLM_F_REQUEST | flags
        request["header"]["sequence_number"] = seq
        request.encode()
        self._sock.send(request.data)
        answers: list[nlmsg] = []
        while True:
            for msg in self._marshal.parse(self._sock.recv(1 << 16)):
                header = msg["header"]
                if header["sequence_number"] != seq:
                    continue  # a late answer to an earlier request
                if header["type"] == NLMSG_DONE:
                    return answers
                if header["type"] == NLMSG_ERROR:
                    code = abs(msg["error"])
                    if code:
                        raise OSError(code, os.strerror(code))
                    return answers
                answers.append(msg)
                if not flags & NLM_F_DUMP:
                    return answers

    def link(self, name: str) -> LinkInfo | None:
        """The link called ``name``, or None when there is none."""
        request = ifinfmsg()
        request["family"] = socket.AF_UNSPEC
        request["attrs"] = [("IFLA_IFNAME", name)]
        try:
            answers = self._request(request, RTM_GETLINK, 0)
        except OSError as exc:
            if exc.errno in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return parse_link(answers[0]) if answers else None

    def links(self) -> list[LinkInfo]:
        """Every link of the namespace."""
        request = ifinfmsg()
        request["family"] = socket.AF_UNSPEC
        return [parse_link(msg) for msg in self._request(request, RTM_GETLINK, NLM_F_DUMP)]

    def addresses(self, index: int) -> set[IPInterface]:
        """Every address of link ``index``."""
        request = ifaddrmsg()
        request["family"] = socket.AF_UNSPEC
        found: set[IPInterface] = set()
        for msg in self._request(request, RTM_GETADDR, NLM_F_DUMP):
            parsed = parse_address(msg)
            if parsed is not None and parsed[0] == index:
                found.add(parsed[1])
        return found

    def default_routes(self) -> list[DefaultRoute]:
        """The main table's unicast default routes of every family."""
        request = rtmsg()
        request["family"] = socket.AF_UNSPEC
        routes = (parse_default_route(msg)
                  for msg in self._request(request, RTM_GETROUTE, NLM_F_DUMP))
        return [route for route in routes if route is not None]
