"""The network lab of the data-plane benchmarks: a private Linux bridge (``lbt<tag>br``, built
with ``tests.netlab``) in a private work directory, the address plan on it, the host settings the
benchmarks need (root and tools, open-file limit, ``netdev_max_backlog``, a tuned client
namespace), and namespaces made "by hand" with ``ip -batch`` for the baselines.

Address plan on the benchmark's own bridge (``lbt<tag>br``, no address in the root namespace)::

    10.242.0.1            gateway of the registered subnet (nobody holds it)
    10.242.0.11-19        nginx backends
    10.242.0.20-29        hand-written haproxy baselines
    10.242.0.200          client (wrk, prober)
    10.242.1.1-249.254    VIPs the API allocates
    10.242.250.1-255.254  namespaces of the "by hand" baselines

:func:`open_lab` registers the removal of the lab (its processes, namespaces and bridge) and then
of the work directory on an ``ExitStack``; :func:`shielded` keeps a second Ctrl-C from
interrupting that teardown and delivers it afterwards. A run killed with SIGKILL leaves its work
directory (with an ``owner.pid`` file) behind; the next benchmark run sweeps what it holds
(``bench.sweep``).

Used by ``bench.stack`` (which builds the lbaas stack on the lab) and by the benchmarks for
addresses, raw namespaces (``bench.provisioning``) and the backlog (``bench.density``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from lbaas.drivers.interface.namespaces import namespace_path
from tests.netlab import Host, Lab

NET = "10.242"
PREFIXLEN = 16
SUBNET = f"{NET}.0.0/{PREFIXLEN}"
GATEWAY = f"{NET}.0.1"
ALLOCATION_POOL = {"start": f"{NET}.1.1", "end": f"{NET}.249.254"}
CLIENT_IP = f"{NET}.0.200"
NETWORK_NAME = "bench-net"
TMP_PREFIX = "lbaas-bench-dp-"


def backend_ip(index: int) -> str:
    """Address of nginx backend ``index`` (0-based, at most 9)."""
    if not 0 <= index < 9:
        raise ValueError("at most 9 backends")
    return f"{NET}.0.{11 + index}"


def backend_members(count: int) -> list[tuple[str, int]]:
    """The first ``count`` nginx backends as pool members (ip, port), for
    ``bench.stack.full_tree``."""
    return [(backend_ip(index), 80) for index in range(count)]


def backend_servers(count: int) -> list[tuple[str, str]]:
    """The first ``count`` nginx backends as hand-written haproxy servers (``web<i>``, ip:port)
    for ``bench.servers.hand_config``."""
    return [(f"web{index}", f"{backend_ip(index)}:80") for index in range(count)]


def hand_ip(index: int) -> str:
    """Address of hand-written haproxy baseline ``index`` (0-based, at most 10)."""
    if not 0 <= index < 10:
        raise ValueError("at most 10 hand-written haproxies")
    return f"{NET}.0.{20 + index}"


def raw_ip(index: int) -> str:
    """Address of "by hand" namespace ``index`` (0..1499)."""
    if not 0 <= index < 1500:
        raise ValueError("at most 1500 raw namespaces")
    return f"{NET}.{250 + index // 250}.{1 + index % 250}"


# --------------------------------------------------------------------------------------------
# Host prerequisites and settings


def check_environment() -> None:
    """Refuse early (SystemExit with a message) when not root or a tool is missing."""
    if os.geteuid() != 0:
        raise SystemExit("the data-plane benchmarks need root (network namespaces)")
    missing = [t for t in ("ip", "haproxy", "nginx", "wrk", "nsenter") if not shutil.which(t)]
    if missing:
        raise SystemExit(f"missing tools: {', '.join(missing)}")


def raise_nofile(wanted: int = 65536) -> None:
    """Raise this process's open-file limit (haproxies started by the agent inherit it)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
        else:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(wanted, hard)), hard))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def softnet_drops() -> int:
    """Packets the kernel dropped because a CPU's input backlog was full, since boot
    (``/proc/net/softnet_stat``, second column, all CPUs)."""
    with open("/proc/net/softnet_stat") as f:
        return sum(int(line.split()[1], 16) for line in f if line.strip())


@contextlib.contextmanager
def netdev_backlog_at_least(wanted: int) -> Iterator[int]:
    """Raise ``net.core.netdev_max_backlog`` (host-wide) to ``wanted`` for the block, then put
    the previous value back; yields the value in force.

    A broadcast (ARP) flooded by a Linux bridge is queued once per port on one CPU's input
    backlog: with more ports than ``netdev_max_backlog`` the copies for the ports at the end of
    the bridge's port list (the oldest: backends, clients) are always dropped."""
    path = "/proc/sys/net/core/netdev_max_backlog"
    with open(path) as f:
        previous = int(f.read())
    if previous >= wanted:
        yield previous
        return
    with open(path, "w") as f:
        f.write(str(wanted))
    try:
        yield wanted
    finally:
        with open(path, "w") as f:
            f.write(str(previous))


def tune_client_namespace(host: Host) -> None:
    """Many short connections from one namespace: reuse TIME_WAIT ports, widen the range."""
    for key, value in (("net.ipv4.tcp_tw_reuse", "1"),
                       ("net.ipv4.ip_local_port_range", "1024 65000")):
        host.run(["sysctl", "-q", "-w", f"{key}={value}"])


# --------------------------------------------------------------------------------------------
# The lab: work directory and bridge, removed in reverse order


def make_workdir() -> Path:
    """A private temporary directory with an ``owner.pid`` (see ``bench.sweep``)."""
    path = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    os.chmod(path, 0o700)
    (path / "owner.pid").write_text(str(os.getpid()))
    return path


def own_workdirs() -> list[Path]:
    """Work directories of this process still on disk (smoke tests: a run must leave none)."""
    return [d for d in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*")
            if (d / "owner.pid").is_file() and (d / "owner.pid").read_text() == str(os.getpid())]


def open_lab(stack: contextlib.ExitStack) -> tuple[Lab, str, Path]:
    """A work directory and a lab with its bridge, both removed when ``stack`` closes."""
    workdir = make_workdir()
    stack.callback(shutil.rmtree, workdir, True)
    lab = Lab()
    (workdir / "lab.tag").write_text(lab.tag)
    stack.callback(_close_lab, lab)
    return lab, lab.bridge("br"), workdir


def _close_lab(lab: Lab) -> None:
    lab.close()


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while cleaning up (a second Ctrl-C must not strand namespaces), then
    deliver them to the handlers in force before: a Ctrl-C during the teardown of one stack of
    a run that builds several (``bench.transports``) still stops the run once that teardown is
    done. A held signal whose handler was the default raises SystemExit instead of killing the
    process, so that the cleanups around this one still run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        if signum not in held:
            held.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in held:
            handler = previous[sig]
            if callable(handler):  # e.g. KeyboardInterrupt, or SystemExit (sigterm_exits)
                handler(sig, None)
            elif handler == signal.SIG_DFL:
                raise SystemExit(128 + sig)


# --------------------------------------------------------------------------------------------
# Namespaces "by hand" (baselines)


def raw_namespace(lab: Lab, bridge: str, suffix: str, ip: str) -> str:
    """Create a namespace with a veth into ``bridge`` and ``ip`` on it "by hand" (one
    ``ip -batch`` run: what an operator's script does); returns its name. The lab removes it."""
    name = lab.name(suffix)
    outer = name + "v"
    lab.defer(_delete_raw, name, outer)
    outer_batch = "\n".join([
        f"netns add {name}",
        f"link add {outer} type veth peer name eth0 netns {name}",
        f"link set {outer} master {bridge} up",
    ]) + "\n"
    inner_batch = "\n".join([
        "link set lo up",
        f"addr add {ip}/{PREFIXLEN} dev eth0",
        "link set eth0 up",
    ]) + "\n"
    for argv, batch in ((["ip", "-batch", "-"], outer_batch),
                        (["ip", "-n", name, "-batch", "-"], inner_batch)):
        subprocess.run(argv, input=batch, text=True, check=True, capture_output=True,
                       timeout=30)
    return name


def _delete_raw(name: str, outer: str) -> None:
    subprocess.run(["ip", "link", "del", outer], capture_output=True, check=False)
    if os.path.exists(namespace_path(name)):
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
