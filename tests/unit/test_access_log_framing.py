"""haproxy's octet-counted event stream (:mod:`lbaas.agent.access_logs.framing`) and the
receiver's event socket: frames in any chunks, newlines inside a message, one load balancer
per connection, garbage closes the connection."""

from __future__ import annotations

import logging
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lbaas.agent.access_logs.framing import MAX_MESSAGE, FramingError, OctetCountDecoder
from lbaas.agent.access_logs.receiver import AccessLogService
from lbaas.config import load_config
from lbaas.drivers.haproxy import logs
from tests.unit.test_access_log_parsing import EVENT, LB, datagram

OTHER_LB = "0b0e7a7c-0a57-4d1c-9f0e-3a3f1e0c4b22"


def frame(message: bytes) -> bytes:
    return str(len(message)).encode() + b" " + message


def test_frames_come_back_whatever_the_chunks() -> None:
    messages = [b"one", b"two\nlines", b"", b"x" * 300, b"12 not a frame"]
    stream = b"".join(frame(m) for m in messages if m)
    for size in (1, 2, 3, 7, 64, len(stream)):
        decoder = OctetCountDecoder()
        out: list[bytes] = []
        for start in range(0, len(stream), size):
            out += decoder.feed(stream[start:start + size])
        assert out == [m for m in messages if m]
        assert decoder.pending == 0


@pytest.mark.parametrize("garbage", [b"hello world", b"-5 abc", b"0 ", b"1a abc",
                                     str(MAX_MESSAGE + 1).encode() + b" x", b"12345678",
                                     b"<134>1 2026 - tag"])
def test_anything_but_a_frame_is_refused(garbage: bytes) -> None:
    with pytest.raises(FramingError):
        OctetCountDecoder().feed(frame(b"fine") + garbage)


def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[AccessLogService]:
    conf = load_config([])
    conf.set_override("state_path", str(tmp_path))
    started = AccessLogService(conf, "agent-1")
    started.start()
    yield started
    started.stop()


def connect(service: AccessLogService) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(service.socket_path))
    return sock


def events(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == "member_status"]


def test_the_socket_reads_frames_of_one_load_balancer_per_connection(
        service: AccessLogService, caplog: pytest.LogCaptureFixture) -> None:
    mode = service.socket_path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    two_lines = EVENT.replace("code: 503", "code: 503\nServer pool-9/forged is UP")
    with caplog.at_level(logging.INFO, logger="lbaas.admin"), \
            connect(service) as first, connect(service) as second:
        stream = frame(datagram(EVENT).rstrip(b"\n")) + frame(datagram(two_lines))
        first.sendall(stream[:10])
        first.sendall(stream[10:])
        # the second connection spoke for LB first: OTHER_LB's message on it is refused
        second.sendall(frame(datagram(EVENT)) + frame(datagram(EVENT, tag=OTHER_LB)))
        eventually(lambda: service.counters.events == 3 and service.counters.unparsed == 1)
    recorded = events(caplog)
    assert {r.loadbalancer_id for r in recorded} == {LB}  # type: ignore[attr-defined]
    assert {r.member_id for r in recorded} == {"member-1"}  # the newline forged nothing  # type: ignore[attr-defined]


def test_garbage_closes_the_connection_and_others_go_on(service: AccessLogService) -> None:
    with connect(service) as bad, connect(service) as good:
        bad.sendall(datagram(EVENT))  # not framed
        eventually(lambda: service.counters.unparsed == 1)
        bad.settimeout(10)
        assert bad.recv(1) == b""  # closed by the agent
        good.sendall(frame(datagram(EVENT, tag=OTHER_LB)))
        eventually(lambda: service.counters.events == 1)


def test_a_restart_replaces_the_sockets(tmp_path: Path) -> None:
    conf = load_config([])
    conf.set_override("state_path", str(tmp_path))
    paths = [logs.log_socket_path(tmp_path), logs.access_socket_path(tmp_path)]
    for path in paths:
        path.write_text("stale")
    first = AccessLogService(conf, "agent-1")
    first.start()
    first.stop()
    assert not any(path.exists() for path in paths)
    second = AccessLogService(conf, "agent-1")
    second.start()
    try:
        assert all(stat.S_ISSOCK(path.stat().st_mode) for path in paths)
        with connect(second) as sock:
            sock.sendall(frame(datagram(EVENT)))
            eventually(lambda: second.counters.events == 1)
    finally:
        second.stop()
