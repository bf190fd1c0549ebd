"""Test helpers that build small networks of namespaces ("hosts") on Linux bridges.

Not a test module: end-to-end tests build their fixtures from these plain classes. A :class:`Lab`
is a cleanup registry: everything it creates (bridges, namespaces, veths, processes) is undone in
reverse order by :meth:`Lab.close` (or leaving its ``with`` block), also when the test failed, and
then checked to be gone. Names start with ``lbt`` plus a random per-lab tag, so parallel runs and
other users of the machine never collide, and stay within 15 characters (IFNAMSIZ)::

    with Lab() as lab:
        br = lab.bridge("br")
        web = lab.host("w1", br, "10.231.0.11/24")
        web.http_server("You've reached WEB01")
        client = lab.host("cl", br, "10.231.0.50/24")
        assert client.http_get("http://10.231.0.11/") == "You've reached WEB01"

A host may as well have an IPv6 (ULA, ``fd00::/8``) address; its servers then bind ``::``.

Traffic only ever flows between namespaces created here; the root namespace's bridge has no
address (IPv4 or global IPv6). Requires root.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import secrets
import select
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from pyroute2.netlink.exceptions import NetlinkError

from lbaas.drivers.interface.namespaces import (
    delete_namespace,
    ensure_namespace,
    iproute,
    list_namespaces,
    run_in_namespace,
)

LOG = logging.getLogger(__name__)
T = TypeVar("T")

PREFIX = "lbt"
IFNAMSIZ = 15
IFA_F_NODAD = 0x02

HTTP_SERVER = textwrap.dedent(
    """
    import socket
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    BODY = sys.argv[2].encode()
    BIND = sys.argv[3] if len(sys.argv) > 3 else "0.0.0.0"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.request_queue_size = 128
    ThreadingHTTPServer.daemon_threads = True
    if ":" in BIND:  # "::" also takes IPv4 (as v4-mapped addresses)
        ThreadingHTTPServer.address_family = socket.AF_INET6
    server = ThreadingHTTPServer((BIND, int(sys.argv[1])), Handler)
    print("READY", flush=True)
    server.serve_forever()
    """
)


def skip_unless_root_and_tools(*tools: str) -> pytest.MarkDecorator:
    """A skip mark unless we are root and every command in ``tools`` (default: ip, haproxy,
    nsenter) is on PATH. Use as a decorator or as ``pytestmark``."""
    wanted = tools or ("ip", "haproxy", "nsenter")
    missing = [tool for tool in wanted if shutil.which(tool) is None]
    if os.geteuid() != 0:
        return pytest.mark.skipif(True, reason="needs root (network namespaces)")
    return pytest.mark.skipif(bool(missing), reason=f"missing tools: {', '.join(missing)}")


def stop_process(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """Terminate ``proc``, kill it if it lingers, and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _delete_link(ifname: str) -> None:
    with iproute() as ipr:
        try:
            ipr.link("del", ifname=ifname)
        except NetlinkError as exc:
            if exc.code != 19:  # ENODEV: already gone
                raise


def link_names() -> list[str]:
    """Names of the root namespace's links."""
    with iproute() as ipr:
        return [str(link.get_attr("IFLA_IFNAME")) for link in ipr.link("dump")]


class Host:
    """A namespace with one veth (``eth0`` inside) into a lab bridge and a 10.x or fd00::/8
    address."""

    def __init__(self, lab: Lab, namespace: str, address: str, outer: str) -> None:
        self.lab = lab
        self.namespace = namespace
        self.address = address.split("/")[0]
        self.outer = outer

    def exec_argv(self) -> list[str]:
        """Prefix that runs a command in this host (``ip netns exec``: fine in tests)."""
        return ["ip", "netns", "exec", self.namespace]

    def run(self, argv: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in this host to completion (raises on a non-zero exit)."""
        return subprocess.run(
            [*self.exec_argv(), *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def spawn(
        self, argv: list[str], ready_line: str | None = None, timeout: float = 10.0
    ) -> subprocess.Popen[str]:
        """Start ``argv`` in this host; the lab stops it at cleanup.

        With ``ready_line``, wait until the process prints it on stdout.
        """
        proc = subprocess.Popen(
            [*self.exec_argv(), *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lab.defer(stop_process, proc)
        if ready_line is not None:
            assert proc.stdout is not None
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                readable, _, _ = select.select([proc.stdout], [], [], max(remaining, 0))
                line = proc.stdout.readline() if readable else ""
                if line.strip() == ready_line:
                    break
                if not readable or proc.poll() is not None:
                    stop_process(proc)
                    err = proc.stderr.read() if proc.stderr and not proc.stderr.closed else ""
                    raise RuntimeError(f"{argv[:3]} in {self.namespace} not ready: {err}")
        return proc

    @property
    def ipv6(self) -> bool:
        """True when this host's address is IPv6."""
        return ":" in self.address

    @property
    def any_address(self) -> str:
        """The wildcard address servers of this host bind (``::`` takes IPv4 too)."""
        return "::" if self.ipv6 else "0.0.0.0"

    def http_server(self, body: str, port: int = 80) -> subprocess.Popen[str]:
        """Start a threaded HTTP server answering every GET with ``body``; wait until it listens."""
        argv = [sys.executable, "-c", HTTP_SERVER, str(port), body, self.any_address]
        return self.spawn(argv, ready_line="READY")

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``func`` in a thread inside this host's namespace (sockets it opens live there)."""
        return run_in_namespace(self.namespace, func, *args, **kwargs)

    def http_get(self, host: str, port: int = 80, path: str = "/", timeout: float = 5.0) -> str:
        """GET ``http://host:port/path`` from this host on a new connection; return the body.

        Raises on connection errors and on a status other than 200.
        """
        return self.call(http_get_here, host, port, path, timeout)


def http_get_here(host: str, port: int = 80, path: str = "/", timeout: float = 5.0) -> str:
    """GET from the calling thread's namespace (no proxies: plain http.client)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read().decode()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body[:200]}")
        return body
    finally:
        conn.close()


class Lab:
    """Builds bridges and hosts and undoes them all, in reverse order, on :meth:`close`."""

    def __init__(self, tag: str | None = None) -> None:
        self.tag = tag or secrets.token_hex(2)
        self.prefix = f"{PREFIX}{self.tag}"
        self._cleanups: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def name(self, suffix: str) -> str:
        """``lbt<tag><suffix>``, refused if longer than an interface name may be."""
        name = self.prefix + suffix
        if len(name) > IFNAMSIZ - 1:  # one character left for veth suffixes
            raise ValueError(f"name {name!r} too long")
        return name

    def defer(self, func: Callable[..., Any], *args: Any) -> None:
        """Register ``func(*args)`` to run at cleanup (last registered runs first)."""
        self._cleanups.append((func, args))

    def close(self) -> None:
        """Run every cleanup (all of them, even if some fail), then check nothing is left."""
        errors: list[BaseException] = []
        while self._cleanups:
            func, args = self._cleanups.pop()
            try:
                func(*args)
            except Exception as exc:
                LOG.exception("cleanup %s%r failed", getattr(func, "__name__", func), args)
                errors.append(exc)
        leftovers = self.leftovers()
        if errors:
            raise errors[0]
        if leftovers:
            raise RuntimeError(f"lab {self.prefix} left {leftovers} behind")

    def leftovers(self) -> list[str]:
        """Namespaces and root links whose names carry this lab's prefix."""
        return [n for n in list_namespaces() + link_names() if n.startswith(self.prefix)]

    def bridge(self, suffix: str = "br") -> str:
        """Create an up, address-less Linux bridge ``lbt<tag><suffix>``; returns its name."""
        name = self.name(suffix)
        with iproute() as ipr:
            ipr.link("add", ifname=name, kind="bridge")
            self.defer(_delete_link, name)
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
        return name

    def host(self, suffix: str, bridge: str, address: str, gateway: str | None = None) -> Host:
        """Create namespace ``lbt<tag><suffix>`` with ``eth0`` = ``address`` (CIDR) on ``bridge``.

        The root end of its veth is ``lbt<tag><suffix>v``. An IPv6 address is added without
        duplicate address detection (usable at once, not "tentative").
        """
        namespace = self.name(suffix)
        outer = namespace + "v"
        ensure_namespace(namespace)
        self.defer(delete_namespace, namespace)
        ip, prefixlen = address.split("/")
        with iproute() as root:
            root.link(
                "add", ifname=outer, kind="veth", peer={"ifname": "eth0", "net_ns_fd": namespace}
            )
            self.defer(_delete_link, outer)
            index = root.link_lookup(ifname=outer)[0]
            bridge_index = root.link_lookup(ifname=bridge)[0]
            root.link("set", index=index, master=bridge_index, state="up")
        with iproute(namespace) as inner:
            inner.link("set", index=inner.link_lookup(ifname="lo")[0], state="up")
            eth0 = inner.link_lookup(ifname="eth0")[0]
            v6 = ":" in ip
            extra = {"flags": IFA_F_NODAD} if v6 else {}
            inner.addr("add", index=eth0, address=ip, prefixlen=int(prefixlen), **extra)
            inner.link("set", index=eth0, state="up")
            if gateway:
                inner.route("add", dst="::/0" if v6 else "0.0.0.0/0", gateway=gateway)
        return Host(self, namespace, address, outer)


def sweep(prefix: str) -> list[str]:
    """Delete namespaces and root links named ``prefix*`` (leftovers of a killed run).

    Use only with a prefix nobody else uses: parallel runs on the machine share ``lbt``.
    """
    if len(prefix) < 4:
        raise ValueError("refusing to sweep such a short prefix")
    removed = []
    for name in list_namespaces():
        if name.startswith(prefix):
            delete_namespace(name)
            removed.append(name)
    for name in link_names():
        if name.startswith(prefix):
            with contextlib.suppress(NetlinkError):
                _delete_link(name)
            removed.append(name)
    return removed
