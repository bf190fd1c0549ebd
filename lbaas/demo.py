"""The all-in-one demo network: a Linux bridge, two backend hosts in their own namespaces
(web01, web02, answering "You've reached WEB0x"), the network registered with the API.

Everything lives on this machine: the bridge carries 10.250.0.0/24, the host holds the gateway
address so a person can curl the load balancer's VIP directly.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lbaas.drivers.interface import links
from lbaas.drivers.interface.namespaces import (
    delete_namespace,
    ensure_namespace,
    iproute,
    nsenter_argv,
)

LOG = logging.getLogger(__name__)

BRIDGE = "lbaas-demo"
NETWORK_NAME = "demo-net"
CIDR = "10.250.0.0/24"
GATEWAY = "10.250.0.1"
ALLOCATION_POOL = {"start": "10.250.0.100", "end": "10.250.0.250"}


@dataclass(frozen=True)
class Backend:
    name: str  # also the namespace name
    address: str
    body: str


BACKENDS = (Backend("lbdemo-web01", "10.250.0.11", "You've reached WEB01\n"),
            Backend("lbdemo-web02", "10.250.0.12", "You've reached WEB02\n"))


def ensure_bridge() -> None:
    """The demo bridge, up, with the gateway address on the host side."""
    prefix = ipaddress.ip_network(CIDR).prefixlen
    with iproute() as root:
        if links.get_link(root, BRIDGE) is None:
            root.link("add", ifname=BRIDGE, kind="bridge")
        index = root.link_lookup(ifname=BRIDGE)[0]
        links.ensure_link(root, index)
        links.ensure_addresses(root, index, [ipaddress.ip_interface(f"{GATEWAY}/{prefix}")])


def ensure_backend(backend: Backend, state_dir: Path) -> None:
    """A namespace on the bridge running a tiny web server that answers ``backend.body``."""
    prefix = ipaddress.ip_network(CIDR).prefixlen
    outer = "v" + backend.name[-10:]
    ensure_namespace(backend.name)
    with iproute() as root, iproute(backend.name) as inner:
        bridge = root.link_lookup(ifname=BRIDGE)[0]
        lo = inner.link_lookup(ifname="lo")
        if lo:
            links.ensure_link(inner, lo[0])
        out_index, in_index = links.ensure_veth_pair(root, inner, outer, "eth0", backend.name)
        links.ensure_link(root, out_index, master=bridge)
        links.ensure_link(inner, in_index)
        links.ensure_addresses(inner, in_index,
                               [ipaddress.ip_interface(f"{backend.address}/{prefix}")])
    _ensure_web_server(backend, state_dir)


def _ensure_web_server(backend: Backend, state_dir: Path) -> None:
    root = state_dir / "demo" / backend.name
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(backend.body)
    pid_file = root / "server.pid"
    if pid_file.exists():
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, 0)
            if backend.name in Path(f"/proc/{pid}/environ").read_bytes().decode(errors="ignore"):
                return
        except (ValueError, OSError):
            pass
    proc = subprocess.Popen(
        [*nsenter_argv(backend.name), sys.executable, "-m", "http.server", "80", "--bind",
         backend.address, "--directory", str(root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LBAAS_DEMO": backend.name})
    pid_file.write_text(str(proc.pid))
    LOG.info("demo backend %s serving on %s:80", backend.name, backend.address)


def was_built(state_dir: Path) -> bool:
    """Whether ``lbaas up --demo`` ran with this state directory."""
    return (state_dir / "demo").is_dir()


def remove(state_dir: Path) -> None:
    """Stop the demo backends and delete their namespaces and the demo bridge."""
    stop_backends(state_dir)
    with iproute() as root:
        for backend in BACKENDS:
            delete_namespace(backend.name)
            links.delete_link(root, "v" + backend.name[-10:])
        links.delete_link(root, BRIDGE)
    shutil.rmtree(state_dir / "demo", ignore_errors=True)


def stop_backends(state_dir: Path) -> None:
    """Stop the demo web servers (namespaces and bridge are kept for the next start)."""
    for backend in BACKENDS:
        pid_file = state_dir / "demo" / backend.name / "server.pid"
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
