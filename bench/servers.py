"""Servers started in lab namespaces: any command with its output to a log file and stopped by
the lab at cleanup (:func:`spawn_logged`), Debian's nginx as a backend with a fixed body
(:func:`nginx_backend`), and the hand-written haproxy every benchmark compares the load
balancer with (:func:`hand_config`, :class:`HandHaproxy`: started, checked, reloaded with
SIGUSR2 or naively restarted by hand).

Used by ``bench.stack`` (the backends of the stack) and by each data-plane benchmark for its
hand-written baseline.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.procstat import process_tree
from tests.netlab import Host, stop_process


def spawn_logged(host: Host, argv: list[str], log: Path,
                 new_session: bool = False) -> subprocess.Popen[bytes]:
    """Start ``argv`` in ``host`` with output to ``log``; the lab stops it at cleanup.

    ``new_session``: in a session of its own, as the agent starts a load balancer's haproxy
    (with the kernel's autogroup scheduling, a session is a group that gets its own share of
    the CPU; otherwise it shares one with this process and the clients it starts)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen([*host.exec_argv(), *argv], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=new_session)
    host.lab.defer(stop_process, proc)
    return proc


def _connect_ok(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_listening(host: Host, ip: str, port: int = 80, timeout: float = 10.0,
                   proc: subprocess.Popen[Any] | None = None) -> float:
    """Wait until a TCP connect from ``host`` to ``ip:port`` succeeds; returns the time it took.

    Polls every 2 ms from one thread inside the namespace."""
    started = time.monotonic()

    def loop() -> float:
        while True:
            if _connect_ok(ip, port):
                return time.monotonic() - started
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{ip}:{port}: the server exited with {proc.returncode}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{ip}:{port} not listening after {timeout}s")
            time.sleep(0.002)

    return host.call(loop)


NGINX_CONF = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    server {{
        listen {ip}:{port} backlog=4096;
        location / {{
            default_type text/plain;
            return 200 "{body}\\n";
        }}
    }}
}}
"""


def nginx_backend(host: Host, workdir: Path, body: str, port: int = 80) -> subprocess.Popen[bytes]:
    """Debian's nginx in ``host`` answering every request with ``body`` (one worker)."""
    if not re.fullmatch(r"[A-Za-z0-9 ._'-]+", body):
        raise ValueError(f"body {body!r} has characters the nginx config cannot hold")
    directory = workdir / f"nginx-{host.namespace}"
    directory.mkdir(mode=0o700)
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=directory, ip=host.address, port=port, body=body))
    proc = spawn_logged(host, ["nginx", "-e", str(directory / "error.log"), "-c", str(conf),
                               "-g", "daemon off;"], directory / "stdout.log")
    wait_listening(host, host.address, port, proc=proc)
    return proc


def hand_config(bind: str, servers: Sequence[tuple[str, str]], *, weight: int | None = None,
                crt: Path | None = None, stats_socket: Path | None = None) -> str:
    """A minimal hand-written haproxy.cfg: HTTP, round robin over ``servers`` (name, ip:port).

    With ``crt`` (a PEM of certificate, intermediates and key) the bind line terminates TLS
    (``ssl crt <file>``, haproxy's default ciphers and versions, as lbaas renders a
    TERMINATED_HTTPS listener given none); with ``stats_socket`` haproxy has one (level admin),
    e.g. to read its TLS counters."""
    lines = [
        "global",
        "    nbthread 1",
        "    maxconn 8000",
        *([f"    stats socket {stats_socket} mode 600 level admin"] if stats_socket else []),
        "defaults",
        "    mode http",
        "    timeout connect 5s",
        "    timeout client 50s",
        "    timeout server 50s",
        "frontend fe",
        f"    bind {bind}" + (f" ssl crt {crt}" if crt is not None else ""),
        "    option idle-close-on-response",
        "    default_backend be",
        "backend be",
        "    balance roundrobin",
    ]
    for index, (name, address) in enumerate(servers):
        suffix = f" weight {weight}" if weight is not None and index == 0 else ""
        lines.append(f"    server {name} {address}{suffix}")
    return "\n".join(lines) + "\n"


class HandHaproxy:
    """A hand-written haproxy in its own namespace, in the foreground in master-worker mode
    (``haproxy -W -f cfg``): SIGUSR2 to the master is a graceful reload; :meth:`restart` is the
    naive stop/start. ``port`` is the one :meth:`start` waits for; ``new_session`` starts it
    in a session of its own, as the agent starts the load balancers' (see
    :func:`spawn_logged`)."""

    def __init__(self, host: Host, workdir: Path, name: str = "hand", port: int = 80,
                 new_session: bool = False) -> None:
        self.host = host
        self.port = port
        self.new_session = new_session
        self.directory = workdir / f"{name}-{host.namespace}"
        self.directory.mkdir(mode=0o700, exist_ok=True)
        self.config = self.directory / "haproxy.cfg"
        self.log = self.directory / "haproxy.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def write(self, text: str) -> None:
        self.config.write_text(text)

    def check(self) -> None:
        subprocess.run(["haproxy", "-c", "-q", "-f", str(self.config)], check=True,
                       capture_output=True, timeout=30)

    def start(self, wait: bool = True) -> float:
        """Start haproxy; with ``wait`` return when it accepts connections (time it took)."""
        started = time.monotonic()
        self.proc = spawn_logged(self.host, ["haproxy", "-W", "-f", str(self.config)], self.log,
                                 new_session=self.new_session)
        if wait:
            wait_listening(self.host, self.host.address, self.port, proc=self.proc)
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def restart(self) -> float:
        """Naive stop/start; returns the time until it accepts connections again."""
        started = time.monotonic()
        self.stop()
        self.start(wait=True)
        return time.monotonic() - started

    def reload(self) -> None:
        """Graceful reload (SIGUSR2 to the master, which re-executes with -sf/-x)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGUSR2)

    def pids(self) -> list[int]:
        """Master and workers (children of the master)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        return process_tree(self.proc.pid)
