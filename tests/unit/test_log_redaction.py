"""RPC message bodies stay out of the process's log (lbaas.observability.redaction): with the
handler of :func:`lbaas.observability.logging.setup_logging` at DEBUG (and TRACE), oslo.messaging's
own line for a late reply (``ReplyWaiters.put``, which logs the whole message) keeps its ids but
not the tree in it, nor do its RabbitMQ driver's TRACE lines (a received message, a publish),
while lbaas's own arguments are left alone."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from oslo_messaging._drivers.amqpdriver import ReplyWaiters
from oslo_messaging._drivers.impl_rabbit import LOG, RabbitMessage

from lbaas.observability.logging import setup_logging
from lbaas.observability.redaction import HIDDEN

SECRET = "-----BEGIN PRIVATE KEY-----MIGHAgEAMBMGByqGSM49-not-a-real-key"
TRACE = 5  # oslo.log's TRACE level


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The process's log handler (JSON lines, level TRACE) writing into a string."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging("DEBUG")
    root.setLevel(TRACE)
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    try:
        yield out
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_a_late_reply_is_logged_without_its_body(stream: io.StringIO) -> None:
    ReplyWaiters().put("msg-42", {"result": {"listeners": [{"key": SECRET}]}})
    text = stream.getvalue()
    assert "queues: 0, message: " + HIDDEN in text  # the library really logged the line
    assert SECRET not in text and "listeners" not in text


def test_trace_lines_with_a_message_are_logged_without_it(stream: io.StringIO) -> None:
    RabbitMessage(SimpleNamespace(payload={"result": SECRET}))  # logs itself at TRACE
    LOG.trace("Connection._publish: sending message %(msg)s to %(who)s",
              {"msg": {"oslo.message": SECRET}, "who": "lbaas"})
    text = stream.getvalue()
    assert "RabbitMessage.Init: message " + HIDDEN in text
    assert SECRET not in text and text.count(HIDDEN) == 2 and "to lbaas" in text


def test_lbaas_lines_keep_their_arguments(stream: io.StringIO) -> None:
    logging.getLogger("lbaas.test").info("state %(message)s", {"message": "kept"})
    assert "state kept" in stream.getvalue()
