"""Helpers and fixtures of the ``test_netns_haproxy_*`` end-to-end tests (the interface driver
and the haproxy process manager on real namespaces): the lab's addresses, a small haproxy
config, and the fixtures ``net`` (a bridge, two backend hosts answering WEB01/WEB02 and a client
host), ``lb_id``, ``state_path`` and ``lb`` (the VIP plugged into ``qlbaas-<id>`` with haproxy
running inside it). Every fixture tears down what it built even when a test fails, and checks
that nothing is left. tests/e2e/conftest.py makes the fixtures available to tests/e2e.

Not a test module.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from lbaas.drivers.haproxy.process import Action, HaproxyProcess
from lbaas.drivers.interface import vip_plug
from tests.netlab import Host, Lab, link_names

SUBNET = "10.231.0"
VIP = f"{SUBNET}.100"
WEB01, WEB02 = "You've reached WEB01", "You've reached WEB02"


def haproxy_config(proc: HaproxyProcess, generation: int = 0) -> str:
    """A small config: one listener on the VIP, roundrobin over both backends with checks."""
    return f"""\
# generation {generation}
global
    maxconn 1000
    stats socket {proc.paths.stats_socket} mode 600 level admin expose-fd listeners
    server-state-file {proc.paths.servers_state}

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 1s
    retries 3
    option redispatch
    load-server-state-from-file global

frontend listener1
    bind {VIP}:80
    default_backend pool1

backend pool1
    balance roundrobin
    server web01 {SUBNET}.11:80 check inter 300ms fall 2 rise 1
    server web02 {SUBNET}.12:80 check inter 300ms fall 2 rise 1
"""


@dataclass
class Net:
    lab: Lab
    bridge: str
    web01: Host
    web02: Host
    client: Host
    web02_server: subprocess.Popen[str]


@dataclass
class LoadBalancer:
    lb_id: str
    proc: HaproxyProcess


@contextmanager
def web_lab(address: Callable[[int], str], web01_text: str = WEB01,
            web02_text: str = WEB02) -> Iterator[Net]:
    """A lab with a bridge, hosts ``address(11)`` and ``address(12)`` answering HTTP with
    ``web01_text`` and ``web02_text``, and a client at ``address(50)`` (each an address with its
    prefix length); all removed on the way out."""
    with Lab() as lab:
        bridge = lab.bridge("br")
        web01 = lab.host("w1", bridge, address(11))
        web02 = lab.host("w2", bridge, address(12))
        client = lab.host("cl", bridge, address(50))
        web01.http_server(web01_text)
        web02_server = web02.http_server(web02_text)
        yield Net(lab, bridge, web01, web02, client, web02_server)


@pytest.fixture
def net() -> Iterator[Net]:
    with web_lab(lambda host: f"{SUBNET}.{host}/24") as lab:
        yield lab


@pytest.fixture
def lb_id() -> Iterator[str]:
    """A fresh load balancer id; its namespace and veth are removed at teardown."""
    lb_id = f"{Lab().prefix}{secrets.token_hex(3)}-e2e"
    try:
        yield lb_id
    finally:
        vip_plug.unplug_vip(lb_id)
        assert lb_id not in vip_plug.list_lb_namespaces()
        assert vip_plug.outer_ifname(lb_id) not in link_names()


@pytest.fixture
def state_path() -> Iterator[Path]:
    # Short on purpose: AF_UNIX socket paths are limited to 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="lbt"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def lb(net: Net, lb_id: str, state_path: Path) -> Iterator[LoadBalancer]:
    """The VIP plugged into the lab bridge and haproxy started in the namespace."""
    proc = HaproxyProcess(lb_id, state_path, exec_prefix=vip_plug.netns_exec_argv(lb_id))
    try:
        vip_plug.plug_vip(lb_id, net.bridge, VIP, 24, gateway=None)
        assert proc.apply(haproxy_config(proc)) is Action.STARTED
        yield LoadBalancer(lb_id, proc)
    finally:
        proc.stop(graceful=False)
        assert not proc.is_running()


def get_vip(client: Host) -> str:
    return client.http_get(VIP, timeout=5.0)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
