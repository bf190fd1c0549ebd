"""Minimal read-only rtnetlink queries: one link by name, the addresses and the default routes.

Used by :mod:`lbaas.drivers.interface.plugged` to verify a plugged VIP on every sync of every load
balancer. pyroute2 (which every *change* goes through, :mod:`.links`) sets up an asyncio event
loop per socket and runs it for every request; at a thousand load balancers that overhead was
most of a resync. Here a request is one ``send`` and a few ``recv`` on a plain
``AF_NETLINK`` socket, and only the few attributes the check needs are decoded.

:class:`RtnlSocket` lives in the network namespace of the thread that creates it (see
:func:`lbaas.drivers.interface.namespaces.run_in_namespace`).
"""

from __future__ import annotations

import errno
import ipaddress
import itertools
import os
import socket
import struct
from dataclasses import dataclass
from types import TracebackType

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK = 1, 3, 4, 5
IFLA_MASTER, IFLA_OPERSTATE, IFLA_LINKINFO, IFLA_INFO_KIND = 10, 16, 18, 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_OIF, RTA_GATEWAY, RTA_TABLE = 4, 5, 15
RT_TABLE_MAIN, RTN_UNICAST = 254, 1
NLA_TYPE_MASK = 0x3FFF
OPERSTATES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")
"""IF_OPER_* by value, named as pyroute2 and ``ip link`` name them."""

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, protocol,
# scope, type, flags
_ATTR = struct.Struct("=HH")  # rtattr: length, type
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
    operstate: str | None


@dataclass(frozen=True)
class DefaultRoute:
    """A unicast default route of the main table."""

    family: int
    gateway: IPAddress | None
    oif: int | None


def _align(length: int) -> int:
    return (length + 3) & ~3


def _attrs(data: bytes, offset: int) -> dict[int, bytes]:
    """The rtattrs of ``data`` from ``offset`` (type -> value; the last one of a type wins)."""
    attrs: dict[int, bytes] = {}
    while offset + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        attrs[kind & NLA_TYPE_MASK] = data[offset + _ATTR.size:offset + length]
        offset += _align(length)
    return attrs


def _attr(kind: int, value: bytes) -> bytes:
    length = _ATTR.size + len(value)
    return _ATTR.pack(length, kind) + value + b"\0" * (_align(length) - length)


def _u32(value: bytes | None) -> int | None:
    return None if value is None or len(value) < 4 else int(struct.unpack_from("=I", value)[0])


def _string(value: bytes | None) -> str | None:
    return None if value is None else value.split(b"\0", 1)[0].decode(errors="replace")


def parse_link(payload: bytes) -> LinkInfo:
    """An RTM_NEWLINK payload (after the netlink header) -> :class:`LinkInfo`."""
    _, _, index, flags, _ = _IFINFO.unpack_from(payload)
    attrs = _attrs(payload, _IFINFO.size)
    kind = _string(_attrs(attrs[IFLA_LINKINFO], 0).get(IFLA_INFO_KIND)) \
        if IFLA_LINKINFO in attrs else None
    mac = attrs.get(IFLA_ADDRESS)
    oper = attrs.get(IFLA_OPERSTATE)
    return LinkInfo(
        index=index,
        flags=flags,
        name=_string(attrs.get(IFLA_IFNAME)),
        kind=kind,
        peer=_u32(attrs.get(IFLA_LINK)),
        master=_u32(attrs.get(IFLA_MASTER)),
        mtu=_u32(attrs.get(IFLA_MTU)),
        address=None if mac is None else ":".join(f"{byte:02x}" for byte in mac),
        operstate=None if not oper else
        OPERSTATES[oper[0]] if oper[0] < len(OPERSTATES) else str(oper[0]),
    )


def parse_address(payload: bytes) -> tuple[int, IPInterface] | None:
    """An RTM_NEWADDR payload -> (link index, address/prefix length)."""
    family, prefixlen, _, _, index = _IFADDR.unpack_from(payload)
    attrs = _attrs(payload, _IFADDR.size)
    raw = attrs.get(IFA_LOCAL, attrs.get(IFA_ADDRESS))
    if raw is None or family not in (socket.AF_INET, socket.AF_INET6):
        return None
    address = ipaddress.ip_address(raw)
    return index, ipaddress.ip_interface(f"{address}/{prefixlen}")


def parse_default_route(payload: bytes) -> DefaultRoute | None:
    """An RTM_NEWROUTE payload -> :class:`DefaultRoute`, or None for any other route."""
    family, dst_len, _, _, table, _, _, kind, _ = _RTMSG.unpack_from(payload)
    attrs = _attrs(payload, _RTMSG.size)
    table = _u32(attrs.get(RTA_TABLE)) or table
    if dst_len != 0 or table != RT_TABLE_MAIN or kind != RTN_UNICAST:
        return None
    gateway = attrs.get(RTA_GATEWAY)
    return DefaultRoute(
        family=family,
        gateway=None if gateway is None else ipaddress.ip_address(gateway),
        oif=_u32(attrs.get(RTA_OIF)),
    )


class RtnlSocket:
    """A NETLINK_ROUTE socket for read-only requests, in the creating thread's namespace."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self._sock.bind((0, 0))

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> RtnlSocket:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _request(self, kind: int, flags: int, payload: bytes) -> list[bytes]:
        """Send one request; the payloads of its answers (a dump: until NLMSG_DONE).
        Raises OSError with the kernel's errno."""
        seq = next(_SEQ) & 0xFFFFFFFF
        self._sock.send(_HEADER.pack(_HEADER.size + len(payload), kind,
                                     NLM_F_REQUEST | flags, seq, 0) + payload)
        answers: list[bytes] = []
        while True:
            data = self._sock.recv(1 << 16)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, msg_type, _, msg_seq, _ = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    raise OSError(errno.EBADMSG, "malformed netlink answer")
                body = data[offset + _HEADER.size:offset + length]
                offset += _align(length)
                if msg_seq != seq:
                    continue  # a late answer to an earlier request
                if msg_type == NLMSG_DONE:
                    return answers
                if msg_type == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", body)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    return answers
                answers.append(body)
                if not flags & NLM_F_DUMP:
                    return answers

    def link(self, name: str) -> LinkInfo | None:
        """The link called ``name``, or None when there is none."""
        payload = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        payload += _attr(IFLA_IFNAME, name.encode() + b"\0")
        try:
            answers = self._request(RTM_GETLINK, 0, payload)
        except OSError as exc:
            if exc.errno in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return parse_link(answers[0]) if answers else None

    def links(self) -> list[LinkInfo]:
        """Every link of the namespace."""
        payload = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        return [parse_link(body) for body in self._request(RTM_GETLINK, NLM_F_DUMP, payload)]

    def addresses(self, index: int) -> set[IPInterface]:
        """Every address of link ``index``."""
        payload = _IFADDR.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        found: set[IPInterface] = set()
        for body in self._request(RTM_GETADDR, NLM_F_DUMP, payload):
            parsed = parse_address(body)
            if parsed is not None and parsed[0] == index:
                found.add(parsed[1])
        return found

    def default_routes(self) -> list[DefaultRoute]:
        """The main table's unicast default routes of every family."""
        payload = _RTMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0, 0, 0, 0, 0)
        routes = (parse_default_route(body)
                  for body in self._request(RTM_GETROUTE, NLM_F_DUMP, payload))
        return [route for route in routes if route is not None]
