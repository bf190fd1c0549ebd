"""haproxy's octet-counted log stream (:mod:`lbaas.agent.access_logs.framing`) and the
receiver's socket: frames in any chunks, newlines inside a message, one load balancer per
connection, garbage closes the connection."""

from __future__ import annotations

import json
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
from tests.unit.test_access_log_parsing import HTTP_LINE, LB, datagram

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


def lines(service: AccessLogService, lb_id: str) -> list[dict[str, object]]:
    service.files.flush()
    path = service.files.path(lb_id)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_socket_reads_frames_of_one_load_balancer_per_connection(
        service: AccessLogService) -> None:
    mode = service.socket_path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    dn_line = HTTP_LINE.replace('"/CN=client', '"/CN=new\nline')
    with connect(service) as first, connect(service) as second:
        stream = frame(datagram(HTTP_LINE).rstrip(b"\n")) + frame(datagram(dn_line))
        first.sendall(stream[:10])
        first.sendall(stream[10:])
        # the second connection spoke for LB first: OTHER_LB's line on it is refused
        second.sendall(frame(datagram(HTTP_LINE)) + frame(datagram(HTTP_LINE, tag=OTHER_LB)))
        eventually(lambda: service.counters.access_lines == 3 and service.counters.unparsed == 1)
    written = lines(service, LB)
    assert [line["tls_client_dn"] for line in written].count('/CN=new\nline "x" \\ y') == 1
    assert len(written) == 3 and lines(service, OTHER_LB) == []


def test_garbage_closes_the_connection_and_others_go_on(service: AccessLogService) -> None:
    with connect(service) as bad, connect(service) as good:
        bad.sendall(datagram(HTTP_LINE))  # not framed
        eventually(lambda: service.counters.unparsed == 1)
        bad.settimeout(10)
        assert bad.recv(1) == b""  # closed by the agent
        good.sendall(frame(datagram(HTTP_LINE, tag=OTHER_LB)))
        eventually(lambda: service.counters.access_lines == 1)
    assert len(lines(service, OTHER_LB)) == 1


def test_a_restart_replaces_the_socket(tmp_path: Path) -> None:
    conf = load_config([])
    conf.set_override("state_path", str(tmp_path))
    path = logs.log_socket_path(tmp_path)
    path.write_text("stale")
    first = AccessLogService(conf, "agent-1")
    first.start()
    first.stop()
    assert not path.exists()
    second = AccessLogService(conf, "agent-1")
    second.start()
    try:
        with connect(second) as sock:
            sock.sendall(frame(datagram(HTTP_LINE)))
            eventually(lambda: second.counters.access_lines == 1)
    finally:
        second.stop()
