"""Named network namespaces: create, delete, list, and run code or open netlink inside one.

Used by the interface driver (:mod:`lbaas.drivers.interface.vip_plug`) and by test helpers.

Code runs inside a namespace in a short-lived *thread* that calls ``setns(2)``: on Linux the
network namespace is a per-thread attribute, so the thread's sockets, its netlink socket and what
it reads or writes under ``/proc/sys/net`` belong to the namespace while the rest of the process
stays where it was. The thread ends with the call, so no code ever has to "switch back". This
avoids forking a multi-threaded agent (what ``pyroute2.IPRoute(netns=...)`` does) for every
netlink request; only namespace *creation* forks (pyroute2's ``netns.create``), because binding a
new namespace to ``/var/run/netns/<name>`` needs a process that owns it.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2 import netns as pyroute2_netns

NETNS_RUN_DIR = "/var/run/netns"
"""Where ``ip netns`` and pyroute2 keep the bind mounts that name namespaces."""

T = TypeVar("T")

ALREADY_EXISTS = (errno.EEXIST,)
"""errno values meaning "already there" (tolerated when adding)."""
NOT_FOUND = (errno.ENOENT, errno.ENODEV, errno.ESRCH, errno.EADDRNOTAVAIL)
"""errno values meaning "already gone" (tolerated when deleting)."""


def namespace_path(name: str) -> str:
    """The bind-mount path of namespace ``name`` (for ``nsenter --net=``)."""
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"invalid namespace name {name!r}")
    return os.path.join(NETNS_RUN_DIR, name)


def list_namespaces() -> list[str]:
    """Names of every namespace under :data:`NETNS_RUN_DIR` (sorted)."""
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


def namespace_exists(name: str) -> bool:
    """True when ``name`` is a named namespace."""
    return os.path.exists(namespace_path(name))


def ensure_namespace(name: str) -> bool:
    """Create namespace ``name`` unless it exists. Returns True when it was created."""
    path = namespace_path(name)
    if os.path.exists(path):
        return False
    try:
        pyroute2_netns.create(name)
    except FileExistsError:
        return False
    return True


def delete_namespace(name: str) -> bool:
    """Unmount and remove namespace ``name``. Returns False when it did not exist.

    Processes still running inside keep the namespace alive (without its name) until they exit:
    stop them first.
    """
    path = namespace_path(name)
    if not os.path.exists(path):
        return False
    try:
        pyroute2_netns.remove(name)
    except FileNotFoundError:
        return False
    return True


def run_in_namespace(name: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``func(*args, **kwargs)`` in a new thread whose network namespace is ``name``.

    Returns what ``func`` returns and re-raises what it raises. Sockets ``func`` opens stay in
    the namespace after the call (that is how :func:`iproute` gets its netlink socket); nothing
    else about the calling thread changes.
    """
    fd = os.open(namespace_path(name), os.O_RDONLY | os.O_CLOEXEC)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            pyroute2_netns.setns(fd)
            outcome["result"] = func(*args, **kwargs)
        except BaseException as exc:
            outcome["error"] = exc

    try:
        thread = threading.Thread(target=target, name=f"netns-{name}", daemon=True)
        thread.start()
        thread.join()
    finally:
        os.close(fd)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _netlink_route_fd() -> int:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, socket.NETLINK_ROUTE)
    return sock.detach()


@contextmanager
def iproute(namespace: str | None = None) -> Iterator[IPRoute]:
    """An ``IPRoute`` whose netlink socket lives in ``namespace`` (None: this process's own).

    Must not be called from a thread running an asyncio event loop (pyroute2's synchronous API
    runs its own loop): call it from a worker thread.
    """
    if namespace is None:
        ipr = IPRoute()
    else:
        ipr = IPRoute(fileno=run_in_namespace(namespace, _netlink_route_fd))
    try:
        yield ipr
    finally:
        ipr.close()


def sysctl_path(key: str) -> str:
    """``net.ipv4.ip_nonlocal_bind`` -> ``/proc/sys/net/ipv4/ip_nonlocal_bind``.

    Keys naming an interface with a dot in its name cannot be written in dotted form.
    """
    if not key or "/" in key or ".." in key:
        raise ValueError(f"invalid sysctl key {key!r}")
    return "/proc/sys/" + key.replace(".", "/")


def _write_sysctl_here(path: str, value: str) -> bool:
    with open(path, encoding="ascii") as current:
        if current.read().split() == value.split():
            return False
    with open(path, "w", encoding="ascii") as out:
        out.write(value)
    return True


def write_sysctl(key: str, value: int | str, namespace: str | None = None) -> bool:
    """Set sysctl ``key`` to ``value`` (in ``namespace``, or here). Returns True if it changed."""
    path = sysctl_path(key)
    if namespace is None:
        return _write_sysctl_here(path, str(value))
    return run_in_namespace(namespace, _write_sysctl_here, path, str(value))


def read_sysctl(key: str, namespace: str | None = None) -> str:
    """The current value of sysctl ``key`` (stripped), in ``namespace`` or here."""

    def read() -> str:
        with open(sysctl_path(key), encoding="ascii") as current:
            return current.read().strip()

    return read() if namespace is None else run_in_namespace(namespace, read)


def read_sysctls(keys: Iterable[str], namespace: str | None = None) -> dict[str, str | None]:
    """The current values of sysctls ``keys`` (None for a missing one, e.g. IPv6 disabled),
    read in one go in ``namespace`` or here."""
    paths = {key: sysctl_path(key) for key in keys}

    def read() -> dict[str, str | None]:
        values: dict[str, str | None] = {}
        for key, path in paths.items():
            try:
                with open(path, encoding="ascii") as current:
                    values[key] = current.read().strip()
            except FileNotFoundError:
                values[key] = None
        return values

    return read() if namespace is None else run_in_namespace(namespace, read)


def nsenter_argv(name: str) -> list[str]:
    """Command prefix that runs a program inside namespace ``name``.

    ``nsenter --net=<path>`` rather than ``ip netns exec``: it changes only the network namespace.
    ``ip netns exec`` also unshares the mount namespace, remounts /sys and bind-mounts
    /etc/netns/<name>/*; a daemon started that way lives in a private mount namespace, which
    breaks tools that look at it from the root one (keepalived's ``vrrp_track_process`` is
    measured to fail). It also keeps a plain fork/exec: no ``preexec_fn`` in a threaded agent.
    """
    return ["nsenter", f"--net={namespace_path(name)}", "--"]


def is_errno(exc: BaseException, *codes: int) -> bool:
    """True when ``exc`` carries one of the errno ``codes`` (NetlinkError or OSError)."""
    code = getattr(exc, "code", None)
    if code is None:
        code = getattr(exc, "errno", None)
    return code in codes
