"""The access log files of the load balancers of one agent: ``<directory>/<lb_id>/access.log``.

Each load balancer's JSON lines go to its own file, rotated by size (``access.log.1`` ...), with
directories 0700 and files 0600; the rotation is the standard library's
:class:`logging.handlers.RotatingFileHandler`. At most :data:`MAX_OPEN` files are open at once
(the least recently written is closed). :meth:`AccessLogFiles.prune` removes the logs of load
balancers this agent no longer runs once they are older than ``keep_after_delete``.

Used by :mod:`.receiver` from its one thread: no locking here.
"""

from __future__ import annotations

import contextlib
import io
import logging
import logging.handlers
import os
import shutil
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

LOG = logging.getLogger(__name__)

MAX_OPEN = 256
FILE_NAME = "access.log"


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """A rotating file created 0600 (also after each rollover)."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
        return open(fd, "a", encoding="utf-8")

    def doRollover(self) -> None:
        if self.backupCount > 0:
            super().doRollover()
        elif self.stream is not None:
            self.stream.flush()
            os.truncate(self.baseFilename, 0)  # no kept files: start the file again


class AccessLogFiles:
    """Writes JSON lines into each load balancer's rotated ``access.log``."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int, backup_count: int,
                 keep_after_delete: float) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.keep_after_delete = keep_after_delete
        self._open: OrderedDict[str, _PrivateRotatingFile] = OrderedDict()

    def path(self, lb_id: str) -> Path:
        return self.directory / lb_id / FILE_NAME

    def write(self, lb_id: str, line: str) -> None:
        """Append ``line`` (one JSON document, no newline) to ``lb_id``'s file. ``lb_id`` must
        be a checked id (the receiver takes only those haproxy.cfg can hold)."""
        handler = self._open.get(lb_id)
        if handler is None:
            handler = self._handler(lb_id)
        else:
            self._open.move_to_end(lb_id)
        handler.emit(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))

    def _handler(self, lb_id: str) -> _PrivateRotatingFile:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = self.directory / lb_id
        folder.mkdir(mode=0o700, exist_ok=True)
        handler = _PrivateRotatingFile(folder / FILE_NAME, maxBytes=self.max_bytes,
                                       backupCount=self.backup_count)
        handler.setFormatter(logging.Formatter("%(message)s"))
        while len(self._open) >= MAX_OPEN:
            _, oldest = self._open.popitem(last=False)
            oldest.close()
        self._open[lb_id] = handler
        return handler

    def flush(self) -> None:
        for handler in self._open.values():
            handler.flush()

    def close(self, lb_id: str | None = None) -> None:
        """Close ``lb_id``'s file (every file when None)."""
        ids = list(self._open) if lb_id is None else [lb_id]
        for one in ids:
            handler = self._open.pop(one, None)
            if handler is not None:
                handler.close()

    def prune(self, running: Iterable[str], now: Callable[[], float] = time.time) -> list[str]:
        """Remove the logs of load balancers not in ``running`` whose newest file is older than
        ``keep_after_delete``; returns their ids."""
        keep = set(running)
        removed = []
        with contextlib.suppress(FileNotFoundError):
            for folder in self.directory.iterdir():
                if folder.name in keep or not folder.is_dir():
                    continue
                newest = max((entry.stat().st_mtime for entry in folder.iterdir()),
                             default=folder.stat().st_mtime)
                if now() - newest >= self.keep_after_delete:
                    self.close(folder.name)
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder.name)
        if removed:
            LOG.info("removed the access logs of %d deleted load balancers: %s", len(removed),
                     ", ".join(sorted(removed)))
        return removed
