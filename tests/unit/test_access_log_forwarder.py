"""The syslog forwarder's pure parts and its bounded queue (:mod:`.forwarder`); delivery to a
real rsyslog is in ``tests/e2e/test_access_log_forwarding.py``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lbaas.agent.access_logs.forwarder import SyslogForwarder, format_message, parse_target

LB = "7d4e7a7c-0a57-4d1c-9f0e-3a3f1e0c4b11"


def test_rfc5424_header() -> None:
    moment = datetime(2026, 12, 7, 10, 0, 0, 123456, UTC)
    message = format_message('{"a":1}', LB, 16, "agent-1", moment)
    assert message == (f'<134>1 2026-12-07T10:00:00.123456Z agent-1 {LB} - access - '
                       '{"a":1}').encode()


def test_unprintable_header_fields_become_nil() -> None:
    message = format_message("{}", "x" * 49, 1, "bad host", datetime(2026, 1, 1, tzinfo=UTC))
    assert message.split(b" ")[2:6] == [b"-", b"lbaas-access", b"-", b"access"]


@pytest.mark.parametrize(("text", "target"), [("127.0.0.1:514", ("127.0.0.1", 514)),
                                              ("[2001:db8::1]:6514", ("2001:db8::1", 6514)),
                                              ("logs.example:10514", ("logs.example", 10514))])
def test_targets(text: str, target: tuple[str, int]) -> None:
    assert parse_target(text) == target


@pytest.mark.parametrize("text", ["127.0.0.1", "host:0", "host:70000", ":514", "host:x"])
def test_bad_targets_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="syslog_targets"):
        parse_target(text)


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    forwarder = SyslogForwarder(["127.0.0.1:9"], "udp", "local0", 3, "agent-1")
    for number in range(10):  # not started: nothing drains the queue
        forwarder.submit(LB, f'{{"n":{number}}}')
    assert (forwarder.counters.dropped, forwarder.counters.sent) == (7, 0)


def test_unknown_protocol_or_facility_is_refused() -> None:
    with pytest.raises(ValueError, match="protocol"):
        SyslogForwarder([], "sctp", "local0", 1, "h")
    with pytest.raises(ValueError, match="facility"):
        SyslogForwarder([], "udp", "kern", 1, "h")
