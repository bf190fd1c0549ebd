"""A real Prometheus and a real Alertmanager for tests, on loopback, with a webhook receiver in the
test process recording every notification.

:func:`monitoring` starts them (scrape and evaluation every second, Alertmanager grouping and
repeating in about a second) and stops them and removes their files on exit, even on failure.
Prometheus loads the real ``etc/prometheus/lbaas-alerts.yml``; ``for_overrides`` shortens the
``for:`` of named alerts in a private copy (only for alerts whose real ``for:`` is minutes long;
the copy changes nothing else). Scrape targets are file-based service discovery: a test may
change them while Prometheus runs (:meth:`Monitoring.set_targets`, e.g. an agent restarted on a
new port). Job names are the example configuration's: ``lbaas-api`` and ``lbaas-agent``. With
``token_file`` (the ``[metrics] token_file`` of the API and the agent) Prometheus sends its token
as ``Authorization: Bearer`` from that ``credentials_file``, as ``etc/prometheus/prometheus.yml``
does.

Used by the e2e alert tests (tests/e2e/test_alerts.py). Not a test module.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from tests.netlab import stop_process

ETC = Path(__file__).resolve().parents[1] / "etc" / "prometheus"
RULES = ETC / "lbaas-alerts.yml"
JOBS = ("lbaas-api", "lbaas-agent")
PROMETHEUS = "prometheus"
ALERTMANAGER = "prometheus-alertmanager"  # Debian's name of the alertmanager binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the webhook receiver ------------------------------------------------------------------------


@dataclass
class Notification:
    """One alert as a webhook notification carried it."""

    status: str  # "firing" or "resolved"
    labels: dict[str, str]
    annotations: dict[str, str]
    received: float  # time.monotonic() at arrival


class WebhookReceiver:
    """An HTTP server on loopback that records Alertmanager's webhook posts."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)
        self.notifications: list[Notification] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver._record(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, payload: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._arrived:
            for alert in payload.get("alerts", []):
                self.notifications.append(Notification(
                    alert["status"], dict(alert["labels"]), dict(alert.get("annotations", {})),
                    now))
            self._arrived.notify_all()

    def find(self, alertname: str, status: str, since: float = 0.0,
             **labels: str) -> Notification | None:
        """The first notification of ``alertname`` in ``status`` with ``labels``, received
        after ``since`` (a ``time.monotonic()``)."""
        with self._lock:
            for n in self.notifications:
                if (n.labels.get("alertname") == alertname and n.status == status
                        and n.received >= since
                        and all(n.labels.get(k) == v for k, v in labels.items())):
                    return n
        return None

    def wait(self, alertname: str, status: str, timeout: float, since: float = 0.0,
             **labels: str) -> Notification:
        """Wait for :meth:`find` to find one; fail naming what arrived instead."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = self.find(alertname, status, since, **labels)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(n.labels.get("alertname"), n.status, n.labels)
                            for n in self.notifications]
                    raise AssertionError(f"no {status} {alertname} {labels} within {timeout}s; "
                                         f"received: {seen}")
                self._arrived.wait(left)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


# -- Prometheus and Alertmanager -----------------------------------------------------------------


def rules_file(directory: Path, for_overrides: Mapping[str, str] | None = None) -> Path:
    """The real rules, or a copy with the ``for:`` of the named alerts replaced."""
    if not for_overrides:
        return RULES
    document = yaml.safe_load(RULES.read_text())
    unknown = set(for_overrides)
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") in for_overrides:
                rule["for"] = for_overrides[rule["alert"]]
                unknown.discard(rule["alert"])
    assert not unknown, f"no such alerts in {RULES}: {sorted(unknown)}"
    path = directory / "lbaas-alerts.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@dataclass
class Monitoring:
    """The running Prometheus and Alertmanager, and the webhook receiver."""

    directory: Path
    prometheus_url: str
    alertmanager_url: str
    receiver: WebhookReceiver
    processes: dict[str, subprocess.Popen[str]] = field(default_factory=dict)

    def set_targets(self, job: str, targets: Sequence[str]) -> None:
        """Replace the scrape targets (host:port) of ``job``; Prometheus notices the file."""
        path = self.directory / f"{job}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([{"targets": list(targets)}]))
        tmp.replace(path)  # atomic: Prometheus never reads half a file

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant vector (or scalar, as one sample) ``expr`` evaluates to; fails on a
        PromQL error."""
        params = {"query": expr, **({"time": str(at)} if at is not None else {})}
        r = httpx.get(f"{self.prometheus_url}/api/v1/query", params=params, timeout=10)
        body = r.json()
        assert r.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
        result = body["data"]["result"]
        if body["data"]["resultType"] == "scalar":
            return [{"metric": {}, "value": result}]
        return list(result)

    def metric_names(self) -> set[str]:
        r = httpx.get(f"{self.prometheus_url}/api/v1/label/__name__/values", timeout=10)
        return set(r.json()["data"])

    def eventually(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout}s\n{self.logs()}")
            time.sleep(0.25)

    def wait_scraped(self, job: str, count: int = 1, timeout: float = 30) -> None:
        """Until ``count`` targets of ``job`` are up."""
        self.eventually(lambda: len(self.query(f'up{{job="{job}"}} == 1')) >= count, timeout,
                        f"{count} {job} target(s) up")

    def logs(self) -> str:
        return "\n".join(f"--- {name}:\n{_tail(self.directory / f'{name}.log')}"
                         for name in self.processes)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _start(name: str, argv: list[str], directory: Path) -> subprocess.Popen[str]:
    log = (directory / f"{name}.log").open("w")
    try:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True,
                                cwd=directory)
    finally:
        log.close()  # the child has its own descriptor


def _wait_ready(url: str, proc: subprocess.Popen[str], directory: Path, name: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, f"{name} exited:\n{_tail(directory / f'{name}.log')}"
        try:
            if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{name} not ready:\n" + _tail(
            directory / f"{name}.log")
        time.sleep(0.1)


def _alertmanager_config(receiver: WebhookReceiver) -> dict[str, Any]:
    return {
        "global": {"resolve_timeout": "1m"},
        "route": {"receiver": "test", "group_by": ["..."], "group_wait": "1s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "test", "webhook_configs": [
            {"url": receiver.url, "send_resolved": True}]}],
    }


def _prometheus_config(directory: Path, rules: Path, alertmanager: str,
                       token_file: Path | None) -> dict[str, Any]:
    auth = {"authorization": {"credentials_file": str(token_file)}} if token_file else {}
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                   "scrape_timeout": "1s"},
        "rule_files": [str(rules)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {"job_name": job, **auth, "file_sd_configs": [
                {"files": [str(directory / f"{job}.json")], "refresh_interval": "1s"}]}
            for job in JOBS],
    }


@contextmanager
def monitoring(targets: Mapping[str, Sequence[str]] | None = None,
               for_overrides: Mapping[str, str] | None = None,
               token_file: Path | None = None) -> Iterator[Monitoring]:
    """Prometheus scraping ``targets`` (job -> host:port list) with the lbaas rules (with the
    bearer token in ``token_file`` if given), sending to an Alertmanager that notifies a
    :class:`WebhookReceiver`; all stopped and removed on exit."""
    for binary in (PROMETHEUS, ALERTMANAGER):
        assert shutil.which(binary), f"{binary} is not installed"
    directory = Path(tempfile.mkdtemp(prefix="lbaas-monitoring-"))
    directory.chmod(0o700)
    receiver = WebhookReceiver()
    mon: Monitoring | None = None
    try:
        am_port, prom_port = free_port(), free_port()
        mon = Monitoring(directory, f"http://127.0.0.1:{prom_port}",
                         f"http://127.0.0.1:{am_port}", receiver)
        for job in JOBS:
            mon.set_targets(job, list((targets or {}).get(job, ())))
        (directory / "alertmanager.yml").write_text(yaml.safe_dump(_alertmanager_config(receiver)))
        (directory / "am-data").mkdir()
        mon.processes["alertmanager"] = _start("alertmanager", [
            ALERTMANAGER, "--config.file", str(directory / "alertmanager.yml"),
            "--storage.path", str(directory / "am-data"),
            "--web.listen-address", f"127.0.0.1:{am_port}",
            "--cluster.listen-address=", "--log.level=info"], directory)
        _wait_ready(mon.alertmanager_url, mon.processes["alertmanager"], directory,
                    "alertmanager")
        rules = rules_file(directory, for_overrides)
        (directory / "prometheus.yml").write_text(yaml.safe_dump(
            _prometheus_config(directory, rules, f"127.0.0.1:{am_port}", token_file)))
        mon.processes["prometheus"] = _start("prometheus", [
            PROMETHEUS, "--config.file", str(directory / "prometheus.yml"),
            "--storage.tsdb.path", str(directory / "tsdb"),
            "--web.listen-address", f"127.0.0.1:{prom_port}",
            "--rules.alert.resend-delay=1s", "--log.level=info"], directory)
        _wait_ready(mon.prometheus_url, mon.processes["prometheus"], directory, "prometheus")
        yield mon
    finally:
        if mon is not None:
            for proc in reversed(list(mon.processes.values())):
                stop_process(proc, timeout=10)
        receiver.close()
        shutil.rmtree(directory, ignore_errors=True)


# -- serving an in-process API on a real port ----------------------------------------------------


@contextmanager
def served_app(app: Any) -> Iterator[str]:
    """Serve the ASGI ``app`` with uvicorn on a free loopback port in a thread (no lifespan: its
    background tasks already run), so that Prometheus can scrape it; yields host:port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
