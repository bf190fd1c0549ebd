"""Logging set-up: JSON lines carrying the request id of the work they belong to, without RPC
message bodies (:mod:`lbaas.observability.redaction`)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from lbaas.core.request_ids import bind_request_id, current_request_id, reset_request_id
from lbaas.observability.redaction import RpcBodyFilter

__all__ = ["RequestIdFilter", "bind_request_id", "current_request_id", "json_formatter",
           "reset_request_id", "setup_logging"]


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (explicit ``extra`` wins over the context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id()
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger, message, request_id and any ``extra``
    fields of the record."""
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})


def setup_logging(level: str = "INFO", json_lines: bool = True) -> None:
    """Configure the root logger once for the process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RpcBodyFilter())
    if json_lines:
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "oslo_policy", "stevedore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
