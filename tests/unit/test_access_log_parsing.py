"""haproxy's log datagrams -> access records, JSON lines and member events
(:mod:`lbaas.drivers.haproxy.logs`, :meth:`AccessLogService.json_line`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from lbaas.agent.access_logs.receiver import AccessLogService
from lbaas.config import load_config
from lbaas.drivers.haproxy import logs

LB = "7d4e7a7c-0a57-4d1c-9f0e-3a3f1e0c4b11"
HTTP_LINE = (
    "lbaas-access-v1 http 7F000001:C46C_7F000001:46A0_6B1688F7_0000:57C0 10.0.0.5 50284 "
    "1796638967.350 listener-1 pool-1 member-1 404 91 500 5 0 0 0 1 ---- 0 "
    '"GET" "/a%22b" "HTTP/1.1" "/CN=client \\"x\\" \\\\ y"'
)
TCP_LINE = (
    "lbaas-access-v1 tcp - 2001:db8::7 40000 1796638967.001 listener-2 pool-2 member-2 "
    "10 20 30 0 1 ----"
)


def datagram(text: str, tag: str = LB, pri: int = 134) -> bytes:
    return f"<{pri}>1 2026-12-07T10:22:47.355835+00:00 - {tag} 22464 - - {text}\n".encode()


def test_syslog_header_gives_tag_severity_and_message() -> None:
    message = logs.parse_syslog(datagram(HTTP_LINE, pri=129))
    assert message == logs.SyslogMessage(severity=1, tag=LB, text=HTTP_LINE)


@pytest.mark.parametrize("raw", [b"", b"hello", b"<13>Dec  7 10:00:00 tag: old format",
                                 b"<abc>1 x", b"<134>1 too few fields", b"\xff\xfe<134>"])
def test_not_rfc5424_is_refused(raw: bytes) -> None:
    assert logs.parse_syslog(raw) is None


def test_http_line_parses_every_field() -> None:
    record = logs.parse_access(HTTP_LINE)
    assert record == {
        "protocol": "http",
        "request_id": "7F000001:C46C_7F000001:46A0_6B1688F7_0000:57C0",
        "client_address": "10.0.0.5",
        "client_port": 50284,
        "time": "2026-12-07T10:22:47.350Z",
        "listener_id": "listener-1",
        "pool_id": "pool-1",
        "member_id": "member-1",
        "http_status": 404,
        "bytes_in": 91,
        "bytes_out": 500,
        "duration_total_ms": 5,
        "duration_request_ms": 0,
        "duration_queue_ms": 0,
        "duration_connect_ms": 0,
        "duration_response_ms": 1,
        "termination_state": "----",
        "tls_client_verify": 0,
        "http_method": "GET",
        "http_path": "/a%22b",
        "http_version": "HTTP/1.1",
        "tls_client_dn": '/CN=client "x" \\ y',
    }


def test_tcp_line_has_no_http_fields() -> None:
    record = logs.parse_access(TCP_LINE)
    assert record is not None
    assert record["protocol"] == "tcp"
    assert record["client_address"] == "2001:db8::7"
    assert record["request_id"] is None
    assert (record["bytes_in"], record["bytes_out"], record["duration_total_ms"]) == (10, 20, 30)
    assert "http_status" not in record


def test_refused_request_has_no_pool_nor_member() -> None:
    line = ("lbaas-access-v1 http - 127.0.0.1 50472 1796638981.383 listener-1 listener-1 "
            '<NOSRV> 400 0 0 0 -1 -1 -1 -1 PR-- - "<BADREQ>" "<BADREQ>" "<BADREQ>" ""')
    record = logs.parse_access(line)
    assert record is not None
    assert (record["pool_id"], record["member_id"]) == (None, None)
    assert record["duration_connect_ms"] is None  # haproxy's -1: never happened
    assert record["tls_client_dn"] is None
    assert record["http_method"] == "<BADREQ>"


@pytest.mark.parametrize("text", [
    "", "hello", "lbaas-access-v1 udp a b", HTTP_LINE + " extra", HTTP_LINE[:-5],
    HTTP_LINE.replace(" 404 ", " 4x4 "), HTTP_LINE.replace("1796638967.350", "soon"),
    TCP_LINE.replace(" 10 ", "  10 "),
])
def test_malformed_lines_are_refused(text: str) -> None:
    assert logs.parse_access(text) is None


HOSTILE = [
    b'"GET"',
    b"\x00\x01\x1b[31m\x7f",
    b"\xff\xfe\xc3\x28 not utf-8",
    b'\\" \\\\ \\',
    "\u2028\u2029\ud7ff".encode(),
    b'{"json": "injection"}\n{"x": 1}',
]


@pytest.fixture()
def service(tmp_path: Path) -> AccessLogService:
    conf = load_config([])
    conf.set_override("state_path", str(tmp_path))
    return AccessLogService(conf, "agent-1")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_json_is_valid_whatever_the_client_sent(service: AccessLogService, hostile: bytes
                                                ) -> None:
    quoted = b'"' + hostile.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    raw = HTTP_LINE.encode().rsplit(b' "/CN', 1)[0] + b" " + quoted
    message = logs.parse_syslog(datagram("").rstrip(b"\n") + raw)
    assert message is not None
    record = logs.parse_access(message.text)
    assert record is not None
    line = service.json_line(LB, record)
    assert line.isascii() and "\n" not in line
    decoded = json.loads(line)
    assert decoded["tls_client_dn"] == hostile.decode("utf-8", "replace")
    assert decoded["loadbalancer_id"] == LB


def test_unquoted_junk_never_raises(service: AccessLogService) -> None:
    for hostile in HOSTILE:
        service.handle(datagram("").rstrip(b"\n") + hostile)
        service.handle(b"<134>1 x - " + hostile + b" 1 - - " + HTTP_LINE.encode())
    assert service.counters.access_lines == 0


def test_member_events() -> None:
    down = logs.parse_member_event(
        'Server pool-1/member-1 is DOWN, reason: Layer4 connection problem, info: "Connection '
        'refused", check duration: 0ms. 0 active and 0 backup servers left.')
    assert down == logs.MemberEvent("pool-1", "member-1", "DOWN",
                                    'Layer4 connection problem, info: "Connection refused"')
    up = logs.parse_member_event("Server pool-1/member-2 is UP, reason: Layer7 check passed, "
                                 "code: 200, check duration: 1ms. 1 active and 0 backup")
    assert up == logs.MemberEvent("pool-1", "member-2", "UP", "Layer7 check passed, code: 200")
    assert logs.parse_member_event("backend pool-1 has no server available!") is None
    assert logs.parse_member_event("Proxy listener-1 started.") is None
    assert logs.parse_member_event(HTTP_LINE) is None


def test_field_catalogue() -> None:
    assert logs.select_fields(["member_id", "time", " http_status "]) == (
        "time", "member_id", "http_status")
    with pytest.raises(ValueError, match=r"unknown field.*user_agent"):
        logs.select_fields(["time", "user_agent"])
    with pytest.raises(ValueError, match="at least one"):
        logs.select_fields([])
    assert logs.HTTP_FORMAT.count("%") >= len(logs.FIELDS) - 5


def test_chosen_fields_only(tmp_path: Path) -> None:
    conf = load_config([])
    conf.set_override("state_path", str(tmp_path))
    conf.set_override("fields", ["http_status", "loadbalancer_id", "project_id"], "access_log")
    (tmp_path / "lbaas" / LB).mkdir(parents=True)
    (tmp_path / "lbaas" / LB / "project_id").write_text("project-a")
    service = AccessLogService(conf, "agent-1")
    record = logs.parse_access(HTTP_LINE)
    assert record is not None
    assert json.loads(service.json_line(LB, record)) == {
        "project_id": "project-a", "loadbalancer_id": LB, "http_status": 404}


def test_unknown_field_stops_the_service(tmp_path: Path) -> None:
    conf = load_config([])
    conf.set_override("fields", ["time", "nope"], "access_log")
    with pytest.raises(ValueError, match="nope"):
        AccessLogService(conf, "agent-1")


def test_long_state_path_moves_the_socket() -> None:
    assert logs.log_socket_path("/var/lib/lbaas") == Path("/var/lib/lbaas/haproxy-log.sock")
    deep = logs.log_socket_path("/" + "d" * 120)
    assert deep.parent == Path("/run/lbaas") and len(str(deep)) <= 97


def test_a_member_transition_goes_to_the_admin_log(service: AccessLogService,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    text = ("Server pool-1/member-1 is DOWN, reason: Layer7 wrong status, code: 503, "
            "check duration: 1ms. 0 active and 0 backup servers left.")
    with caplog.at_level(logging.INFO, logger="lbaas.admin"):
        service.handle(datagram(text, pri=129))
        service.handle(datagram("Proxy listener-1 started."))
    [record] = [r for r in caplog.records if r.name == "lbaas.admin"]
    assert (record.loadbalancer_id, record.pool_id, record.member_id, record.event,  # type: ignore[attr-defined]
            record.status) == (LB, "pool-1", "member-1", "member_status", "DOWN")  # type: ignore[attr-defined]
    assert record.levelno == logging.WARNING
    assert "Layer7 wrong status, code: 503" in record.getMessage()
    assert (service.counters.events, service.counters.unparsed) == (1, 0)


def test_access_lines_reach_the_load_balancers_file(service: AccessLogService) -> None:
    service.handle(datagram(HTTP_LINE))
    service.handle(datagram(TCP_LINE, tag="../escape"))  # not an id: refused
    service.files.close()
    [line] = service.files.path(LB).read_text().splitlines()
    assert json.loads(line)["http_status"] == 404
    assert (service.counters.access_lines, service.counters.unparsed) == (1, 1)
    assert not (service.files.directory.parent / "escape").exists()


@pytest.mark.parametrize(("text", "count"), [
    ("57 events dropped", 57), ("1 event dropped", 1), ("57 events dropped.", None),
    ("Server a/b is DOWN", None), ("x57 events dropped", None), (HTTP_LINE, None),
])
def test_the_rings_drop_notice(text: str, count: int | None) -> None:
    assert logs.parse_dropped(text) == count
