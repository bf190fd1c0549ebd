"""The in-process RPC transport (lbaas.rpc.inproc): what ``fake:/`` builds, real oslo.messaging
clients and servers over it. A listener wakes on delivery: with its wait slice made a minute
long, casts and calls still arrive, which a polling listener could not do within the test."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import oslo_messaging as messaging
import pytest
from futurist._thread import ThreadWorker

from lbaas.config import RPC_THREADS, load_config
from lbaas.rpc import inproc
from lbaas.rpc.inproc import InProcessDriver
from lbaas.rpc.transport import make_client, make_server, make_transport

VERSION = "1.0"


class Endpoint:
    target = messaging.Target(version=VERSION, namespace="lbaas")

    def __init__(self) -> None:
        self.cast_seen = threading.Event()
        self.casts: list[str] = []

    def echo(self, ctxt: dict[str, object], text: str) -> str:
        return text.upper()

    def note(self, ctxt: dict[str, object], text: str) -> None:
        self.casts.append(text)
        self.cast_seen.set()


@pytest.fixture
def rpc(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[messaging.RPCClient, Endpoint]]:
    monkeypatch.setattr(inproc, "WAIT_SLICE_S", 60.0)  # only a delivery can wake a listener
    conf = load_config(overrides={"DEFAULT": {"transport_url": "fake:/"}})
    transport = make_transport(conf)
    topic = f"test-{uuid.uuid4().hex[:8]}"
    endpoint = Endpoint()
    server = make_server(transport, topic, "host-1", [endpoint])
    server.start()
    stopped = threading.Event()
    try:
        yield make_client(transport, topic, VERSION, timeout=10), endpoint
    finally:
        def stop() -> None:
            server.stop()
            server.wait()
            stopped.set()

        threading.Thread(target=stop, daemon=True).start()
        # stop() wakes the listener: it does not sit out its minute-long wait
        assert stopped.wait(10)


def test_fake_urls_get_the_in_process_driver() -> None:
    conf = load_config(overrides={"DEFAULT": {"transport_url": "fake:/"}})
    assert isinstance(make_transport(conf)._driver, InProcessDriver)


def test_a_cast_wakes_the_listener(rpc: tuple[messaging.RPCClient, Endpoint]) -> None:
    client, endpoint = rpc
    client.cast({}, "note", text="hello")
    assert endpoint.cast_seen.wait(10)
    assert endpoint.casts == ["hello"]


def test_calls_are_answered_one_after_another(rpc: tuple[messaging.RPCClient, Endpoint]) -> None:
    client, _ = rpc
    assert [client.call({}, "echo", text=f"t{n}") for n in range(5)] == [
        f"T{n}" for n in range(5)]


def rpc_worker_threads() -> int:
    return sum(isinstance(t, ThreadWorker) for t in threading.enumerate())


def test_a_burst_leaves_at_most_rpc_threads_workers_behind(
        rpc: tuple[messaging.RPCClient, Endpoint]) -> None:
    """Every worker an RPC server ever started wakes each second while idle: a burst of casts
    must not leave oslo.messaging's 64 behind."""
    client, endpoint = rpc
    before = rpc_worker_threads()
    for n in range(3 * RPC_THREADS):
        client.cast({}, "note", text=f"c{n}")
    assert client.call({}, "echo", text="last") == "LAST"
    assert wait_for_casts(endpoint, 3 * RPC_THREADS)
    assert 1 <= rpc_worker_threads() - before <= RPC_THREADS


def wait_for_casts(endpoint: Endpoint, count: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while len(endpoint.casts) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(endpoint.casts) >= count
