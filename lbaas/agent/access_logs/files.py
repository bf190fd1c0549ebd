"""The access log files of the load balancers of one agent: ``<directory>/<lb_id>/access.log``.

Each load balancer's JSON lines go to its own file, rotated by size (``access.log.1`` ...), with
directories 0700 and files 0600. At most :data:`MAX_OPEN` files are open at once
(the least recently written is closed). :meth:`AccessLogFiles.prune` removes the logs of load
balancers this agent no longer runs once they are older than ``keep_after_delete``.

Used by :mod:`.receiver` from its one thread: no locking here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

LOG = logging.getLogger(__name__)

MAX_OPEN = 256
BUFFER_BYTES = 64 * 1024
FLUSH_EVERY = 256  # lines; the receiver also flushes whenever it has nothing to read
FILE_NAME = "access.log"


class _RotatingFile:
    """One load balancer's ``access.log``: appended through a buffer (flushed by
    :meth:`AccessLogFiles.flush` when the receiver is idle and at least every
    :data:`FLUSH_EVERY` lines), rotated to ``access.log.1`` ... by size. Created 0600.

    Not :class:`logging.handlers.RotatingFileHandler`: it flushes and seeks on every line, which
    at thousands of lines a second costs haproxy's CPU on a busy host."""

    def __init__(self, path: Path, max_bytes: int, backup_count: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.stream = self._open()
        self.size = self.stream.tell()
        self.pending = 0

    def _open(self) -> BinaryIO:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        stream = open(fd, "ab", buffering=BUFFER_BYTES)  # noqa: SIM115 (closed by close())
        stream.seek(0, os.SEEK_END)
        return stream

    def write(self, data: bytes, lines: int = 1) -> None:
        """Append ``data`` (``lines`` whole lines), rotating first when it would pass the cap
        (a bulk write of many lines may pass it by that write)."""
        if self.size + len(data) > self.max_bytes and self.size > 0:
            self.rotate()
        self.stream.write(data)
        self.size += len(data)
        self.pending += lines
        if self.pending >= FLUSH_EVERY:
            self.flush()

    def rotate(self) -> None:
        self.stream.close()
        if self.backup_count > 0:
            for number in range(self.backup_count - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{number}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{number + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            os.truncate(self.path, 0)  # no kept files: start the file again
        self.stream = self._open()
        self.size = 0

    def flush(self) -> None:
        if self.pending:
            self.stream.flush()
            self.pending = 0

    def close(self) -> None:
        self.stream.close()


class AccessLogFiles:
    """Writes JSON lines into each load balancer's rotated ``access.log``."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int, backup_count: int,
                 keep_after_delete: float) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.keep_after_delete = keep_after_delete
        self._open: OrderedDict[str, _RotatingFile] = OrderedDict()

    def path(self, lb_id: str) -> Path:
        return self.directory / lb_id / FILE_NAME

    def write(self, lb_id: str, line: str) -> None:
        """Append ``line`` (one JSON document, no newline) to ``lb_id``'s file."""
        self.write_block(lb_id, line.encode() + b"\n", 1)

    def write_block(self, lb_id: str, data: bytes, lines: int) -> None:
        """Append ``data``, ``lines`` whole lines, to ``lb_id``'s file. ``lb_id`` must be a
        checked id (the receiver takes only those of its own haproxy processes)."""
        handler = self._open.get(lb_id)
        if handler is None:
            handler = self._handler(lb_id)
        else:
            self._open.move_to_end(lb_id)
        handler.write(data, lines)

    def _handler(self, lb_id: str) -> _RotatingFile:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = self.directory / lb_id
        folder.mkdir(mode=0o700, exist_ok=True)
        handler = _RotatingFile(folder / FILE_NAME, self.max_bytes, self.backup_count)
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
