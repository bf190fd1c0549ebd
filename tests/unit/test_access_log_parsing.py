"""Access log formats and what the agent does with haproxy's two log streams
(:mod:`lbaas.drivers.haproxy.logs`, :class:`AccessLogService`). haproxy itself writing these
formats, hostile requests included, is tested in ``tests/e2e/test_access_logs.py``."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lbaas.agent.access_logs.receiver import AccessLogService, load_balancer_of_process
from lbaas.config import load_config
from lbaas.drivers.haproxy import logs

LB = "7d4e7a7c-0a57-4d1c-9f0e-3a3f1e0c4b11"
EVENT = ("Server pool-1/member-1 is DOWN, reason: Layer7 wrong status, code: 503, "
         "check duration: 1ms. 0 active and 0 backup servers left.")


def datagram(text: str, tag: str = LB, pri: int = 134) -> bytes:
    return f"<{pri}>1 2026-12-07T10:22:47.355835+00:00 - {tag} 22464 - - {text}\n".encode()


def sample_line(log_format: str) -> dict[str, Any]:
    """What haproxy would write with ``log_format``, each variable replaced by a sample value:
    quoted samples (``%{+Q}[...]``) by a string, bare ones by a number."""
    text = re.sub(r"%\{\+Q\}\[[^\]]*\]", '"sample"', log_format)
    text = re.sub(r"%\[[^\]]*\]", "7", text)
    text = re.sub(r"%[A-Za-z]+(\.%ms)?", "7", text)
    assert "%" not in text, text
    return dict(json.loads(text))


def test_syslog_header_gives_tag_severity_and_message() -> None:
    message = logs.parse_syslog(datagram(EVENT, pri=129))
    assert message == logs.SyslogMessage(severity=1, tag=LB, text=EVENT)


@pytest.mark.parametrize("raw", [b"", b"hello", b"<13>Dec  7 10:00:00 tag: old format",
                                 b"<abc>1 x", b"<134>1 too few fields", b"\xff\xfe<134>"])
def test_not_rfc5424_is_refused(raw: bytes) -> None:
    assert logs.parse_syslog(raw) is None


def test_http_format_is_a_json_object_of_the_fields_in_order() -> None:
    fields = logs.select_fields(logs.FIELDS)
    line = sample_line(logs.access_log_format(fields, protocol="http", loadbalancer_id=LB,
                                              project_id="project-a",
                                              client_certificate=True))
    assert list(line) == list(logs.FIELDS)
    assert (line["loadbalancer_id"], line["project_id"], line["protocol"]) == (
        LB, "project-a", "http")
    assert line["http_path"] == "sample" and line["time"] == 7


def test_tcp_format_has_no_http_fields_and_tls_fields_need_a_client_certificate() -> None:
    line = sample_line(logs.access_log_format(logs.FIELDS, protocol="tcp", loadbalancer_id=LB,
                                              project_id="p", client_certificate=False))
    assert not [name for name in line if name.startswith("http_")]
    assert "duration_request_ms" not in line and "duration_response_ms" not in line
    assert line["tls_client_verify"] is None and line["tls_client_dn"] is None
    assert line["protocol"] == "tcp" and "bytes_in" in line


def test_every_client_string_goes_through_the_json_converter() -> None:
    text = logs.access_log_format(logs.FIELDS, protocol="http", loadbalancer_id=LB,
                                  project_id="p", client_certificate=True)
    members = dict(member.split('":', 1) for member in text[2:-1].split(',"'))
    for name in ("http_method", "http_path", "http_version", "tls_client_dn"):
        assert members[name].endswith(",json(utf8s)]"), name
    assert "?" in text and "capture.req.uri,field(1,?)" in text  # the query is cut off


@pytest.mark.parametrize("project", ['p"x', "p\\x", "p%ci", "p]\\]", "p'x", "é ☃", "%%"])
def test_a_hostile_project_id_stays_one_literal_string(project: str) -> None:
    text = logs.access_log_format(["project_id", "http_status"], protocol="http",
                                  loadbalancer_id=LB, project_id=project,
                                  client_certificate=False)
    assert text.isascii() and text.count("%") == 1  # %ST only: none from the project id
    assert sample_line(text) == {"project_id": project, "http_status": 7}


def test_unique_id_is_decimal_and_starts_with_the_load_balancer() -> None:
    assert logs.unique_id_format(LB) == "7d4e7a7c-%Ts-%pid-%rt"


def test_field_catalogue() -> None:
    assert logs.select_fields(["member_id", "time", " http_status "]) == (
        "time", "member_id", "http_status")
    with pytest.raises(ValueError, match=r"unknown field.*user_agent"):
        logs.select_fields(["time", "user_agent"])
    with pytest.raises(ValueError, match="at least one"):
        logs.select_fields([])


def test_a_block_of_json_lines_passes_whole() -> None:
    block = b'{"a":1}\n{"b":"x}"}\n'
    assert logs.split_access_block(block) == (block, 2, [])


def test_other_lines_are_set_apart() -> None:
    block = b'{"a":1}\n57 events dropped\n{"b":2}\n{"cut\n{"c":"\xc3\xa9"}\n\n'
    assert logs.split_access_block(block) == (b'{"a":1}\n{"b":2}\n', 2, [
        b"57 events dropped", b'{"cut', b'{"c":"\xc3\xa9"}'])


@pytest.fixture()
def service(tmp_path: Path) -> AccessLogService:
    conf = load_config([])
    conf.set_override("state_path", str(tmp_path))
    return AccessLogService(conf, "agent-1")


def test_access_blocks_reach_the_load_balancers_file(service: AccessLogService) -> None:
    service.write_access(LB, b'{"n":1}\n{"n":2}\n3 events dropped\nProxy x started.\n')
    service.files.close()
    lines = service.files.path(LB).read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"n": 1}, {"n": 2}]
    counters = service.counters
    assert (counters.access_lines, counters.dropped, counters.unparsed) == (2, 3, 1)


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


def test_unknown_field_stops_the_service(tmp_path: Path) -> None:
    conf = load_config([])
    conf.set_override("fields", ["time", "nope"], "access_log")
    with pytest.raises(ValueError, match="nope"):
        AccessLogService(conf, "agent-1")


def test_long_state_path_moves_the_sockets() -> None:
    assert logs.log_socket_path("/var/lib/lbaas") == Path("/var/lib/lbaas/haproxy-log.sock")
    assert logs.access_socket_path("/var/lib/lbaas") == Path(
        "/var/lib/lbaas/haproxy-access.sock")
    for deep in (logs.log_socket_path("/" + "d" * 120), logs.access_socket_path("/" + "d" * 120)):
        assert deep.parent == Path("/run/lbaas") and len(str(deep)) <= 97
    assert logs.log_socket_path("/" + "d" * 120) != logs.access_socket_path("/" + "d" * 120)


def test_a_member_transition_goes_to_the_admin_log(service: AccessLogService,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lbaas.admin"):
        service.handle(datagram(EVENT, pri=129))
        service.handle(datagram("Proxy listener-1 started."))
        service.handle(datagram(EVENT, tag="../escape"))  # not an id: refused
    [record] = [r for r in caplog.records if r.name == "lbaas.admin"]
    assert (record.loadbalancer_id, record.pool_id, record.member_id, record.event,  # type: ignore[attr-defined]
            record.status) == (LB, "pool-1", "member-1", "member_status", "DOWN")  # type: ignore[attr-defined]
    assert record.levelno == logging.WARNING
    assert "Layer7 wrong status, code: 503" in record.getMessage()
    assert (service.counters.events, service.counters.unparsed) == (1, 1)


@pytest.mark.parametrize(("text", "count"), [
    ("57 events dropped", 57), ("1 event dropped", 1), ("57 events dropped.", None),
    ("Server a/b is DOWN", None), ("x57 events dropped", None), ('{"a":1}', None),
])
def test_the_rings_drop_notice(text: str, count: int | None) -> None:
    assert logs.parse_dropped(text) == count


def test_a_process_is_known_by_the_config_its_command_line_names(tmp_path: Path) -> None:
    config = tmp_path / "lbaas" / LB / "haproxy.cfg"
    stranger = tmp_path / "elsewhere" / LB / "haproxy.cfg"
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)", "-f"]
    with subprocess.Popen([*sleeper, str(config)]) as ours, \
            subprocess.Popen([*sleeper, str(stranger)]) as other:
        try:
            assert load_balancer_of_process(ours.pid, tmp_path) == LB
            assert load_balancer_of_process(other.pid, tmp_path) is None
        finally:
            ours.kill()
            other.kill()
    assert load_balancer_of_process(ours.pid, tmp_path) is None  # gone


def test_an_access_connection_from_another_process_is_refused(service: AccessLogService
                                                              ) -> None:
    service.start()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(service.access_socket_path))
            # The receiver refuses at accept, so it may already have closed its end.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                client.sendall(b'{"forged":true}\n')
            deadline = time.monotonic() + 10
            while service.counters.unparsed == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        service.stop()
    assert (service.counters.unparsed, service.counters.access_lines) == (1, 0)
    assert not service.files.directory.exists() or not any(service.files.directory.iterdir())
