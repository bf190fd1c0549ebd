"""The admin log file: the ``lbaas.admin`` events (:mod:`lbaas.core.admin_events`) as JSON
lines, in a size-capped rotating file.

Installed once at start-up by the ``lbaas agent`` command and the all-in-one (``lbaas up``),
after :func:`lbaas.observability.logging.setup_logging`, from ``[admin_log]``. The events keep
propagating to the normal log. The directory is created 0700, the file and its rotated copies
are 0600 (an existing file is tightened too).
"""

from __future__ import annotations

import io
import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

from oslo_config import cfg

from lbaas.core.admin_events import ADMIN_LOGGER
from lbaas.observability.logging import RequestIdFilter, json_formatter


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A :class:`RotatingFileHandler` whose files are created (or reopened) with mode 0600."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


class AdminLogHandler(PrivateRotatingFileHandler):
    """The handler :func:`install_admin_log` hangs on ``lbaas.admin`` (a type of its own, so
    that installing again replaces it)."""


def install_admin_log(conf: cfg.ConfigOpts) -> AdminLogHandler | None:
    """Write the admin events to ``[admin_log] file`` (None and nothing installed when it is
    empty: the events then go to the normal log only). Replaces a handler installed before."""
    logger = logging.getLogger(ADMIN_LOGGER)
    for old in [h for h in logger.handlers if isinstance(h, AdminLogHandler)]:
        logger.removeHandler(old)
        old.close()
    options = conf.admin_log
    if not options.file:
        return None
    path = Path(options.file)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    handler = AdminLogHandler(path, maxBytes=options.max_bytes,
                              backupCount=options.backup_count, encoding="utf-8")
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(json_formatter())
    logger.addHandler(handler)
    # INFO events are written even when the process logs only warnings.
    logger.setLevel(min(logging.INFO, logging.getLogger().getEffectiveLevel()))
    return handler
