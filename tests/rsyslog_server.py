"""A real rsyslog (Debian's rsyslogd) as a central syslog collector for tests.

:func:`rsyslog` starts ``rsyslogd -n`` with a config of its own (no system daemon, no
``/dev/log``): imtcp and imudp on loopback ports, every message written to one file with the
properties rsyslog parsed (protocol version, app name, message id, facility, severity, message),
one message a line, ``|``-separated. Stopped and its files left in the test's directory.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.netlab import stop_process

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"

CONFIG = """\
global(workDirectory="{work}")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
input(type="imudp" address="127.0.0.1" port="{udp}")
template(name="parsed" type="string"
         string="%protocol-version%|%app-name%|%msgid%|%syslogfacility-text%|%syslogseverity-text%|%msg%\\n")
*.* action(type="omfile" file="{out}" template="parsed")
"""


@dataclass(frozen=True)
class ReceivedMessage:
    version: str
    app_name: str
    msgid: str
    facility: str
    severity: str
    msg: str


@dataclass
class Rsyslog:
    tcp_port: int
    udp_port: int
    output: Path

    def messages(self) -> list[ReceivedMessage]:
        """Every message received so far, as rsyslog parsed it."""
        if not self.output.exists():
            return []
        return [ReceivedMessage(*line.split("|", 5))
                for line in self.output.read_text().splitlines() if line.count("|") >= 5]


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def rsyslog(directory: Path) -> Iterator[Rsyslog]:
    """rsyslogd listening on 127.0.0.1 (TCP and UDP) until the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    server = Rsyslog(free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM),
                     directory / "received.log")
    config = directory / "rsyslog.conf"
    config.write_text(CONFIG.format(work=directory, tcp=server.tcp_port, udp=server.udp_port,
                                    out=server.output))
    proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(config), "-i",
                             str(directory / "rsyslogd.pid")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 15
        while not _listening(server.tcp_port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"rsyslogd did not start: {proc.communicate()[0]}")
            time.sleep(0.1)
        yield server
    finally:
        stop_process(proc)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True
