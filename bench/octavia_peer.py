"""The real Octavia API beside lbaas, for ``python -m bench.api --octavia``: :func:`octavia_peer`
starts it in a temporary directory and stops and deletes all of it on the way out.

What runs (Octavia from PyPI, installed by ``make bench-octavia-deps`` into the separate
environment ``bench/octavia_env/.venv``, pinned by ``bench/octavia_env/uv.lock``):

* its own MariaDB database on a throwaway server (``bench.common.mariadb_database``, the one of
  ``tests/mariadb.py``; started after lbaas's runs have stopped theirs) and its own RabbitMQ
  (``bench.broker.private_broker``), both on this machine only;
* ``octavia.conf``: ``[api_settings] auth_strategy = noauth`` (no Keystone: the project comes
  from the ``X-Project-Id`` header, oslo.context's, and every caller is an admin, so Octavia
  checks no quota), the ``amphora`` provider with the noop compute, network and amphora drivers,
  no jobboard, the oslo.middleware health check with Octavia's database check on every request;
* ``octavia-db-manage upgrade head``, then the API under gunicorn (:data:`API_WORKERS` sync
  workers) on a socket bound here to ``127.0.0.1`` port 0 and handed over as ``fd://``, and
  ``octavia-worker``, which takes the provider's casts from RabbitMQ and runs the create flows
  through the noop drivers, so that load balancers go ``ACTIVE`` as with a real cloud.

The context manager yields once every gunicorn worker has loaded the application and a probe
load balancer (in a project of its own) went ``ACTIVE``. On the way out, also after a failure
while starting, on Ctrl-C and on SIGTERM (under ``bench.common.sigterm_exits``), gunicorn and
``octavia-worker`` are stopped (their process groups: TERM, then KILL), then the broker and the
database server, and the directory is removed; so is ``/tmp/octavia-network-noop.db``, the file
Octavia's noop network and compute drivers keep their state in, unless it was there before.

Used by ``bench.api`` (``--octavia``); :class:`OctaviaPeer` is the ``bench.api_driver.ApiTarget``
the benchmark's driver measures. Passwords (the broker's, the certificates' passphrase) stay in
files readable by root only and are never printed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bench.common import (
    LOOPBACK,
    BenchError,
    descendants,
    mariadb_database,
    process_cpu_seconds,
    wait_healthy,
    write_config,
)

PEER_DIR = Path(__file__).resolve().parent / "octavia_env"
PEER_BIN = PEER_DIR / ".venv" / "bin"
INSTALL_COMMAND = "make bench-octavia-deps"
API_WORKERS = 4
"""gunicorn workers of the API (the quoted numbers' setup: 4 gunicorn workers, MariaDB)."""
PROVIDER_QUEUE = "octavia_provisioning_v2"
"""The queue ``octavia-worker`` consumes the amphora provider's casts from."""
NOOP_DB = Path("/tmp/octavia-network-noop.db")
"""Where Octavia's noop network and compute drivers keep their ports (a fixed path)."""
START_TIMEOUT_S = 300.0
WSGI_MODULE = "bench_octavia_wsgi"


def peer_available() -> bool:
    """Whether the Octavia environment is installed (``make bench-octavia-deps``)."""
    return all((PEER_BIN / name).exists()
               for name in ("gunicorn", "octavia-worker", "octavia-db-manage"))


def version() -> str:
    """The installed Octavia's version (from its package metadata), '?' when unknown."""
    for dist in (PEER_DIR / ".venv" / "lib").glob("python3*/site-packages/octavia-*.dist-info"):
        return dist.name.removeprefix("octavia-").removesuffix(".dist-info")
    return "?"


@dataclass
class OctaviaPeer:
    """A running Octavia API and worker (see :func:`octavia_peer`); the benchmark's target."""

    base_url: str
    workdir: Path
    api: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    project_id: str
    subnet_id: str

    # -- what bench.api_driver.ApiTarget asks -----------------------------------------------

    def member_headers(self) -> dict[str, str]:
        """The headers of the measured requests: the project (noauth takes it from here)."""
        return {"X-Project-Id": self.project_id}

    def create_fields(self) -> dict[str, object]:
        """The fields of a create body: a VIP subnet (any id: the noop network driver makes
        one up) and the project."""
        return {"vip_subnet_id": self.subnet_id, "project_id": self.project_id}

    def list_params(self) -> dict[str, str]:
        """A project's list: under noauth every caller is an admin and would list every
        project's load balancers, so the project is named, as Octavia does for a member."""
        return {"project_id": self.project_id}

    def cpu_seconds(self) -> float:
        """CPU time of the API: gunicorn's arbiter and workers (not ``octavia-worker``)."""
        return sum(process_cpu_seconds(pid) for pid in self.api_pids())

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the API's and the worker's logs (for error messages)."""
        return "\n".join(f"{name}:\n{_tail(self.workdir / name, lines)}"
                         for name in ("api.log", "worker.log"))

    # -- more -------------------------------------------------------------------------------

    def api_pids(self) -> list[int]:
        return [self.api.pid, *descendants(self.api.pid)]

    def process_count(self) -> int:
        """gunicorn's arbiter plus its workers."""
        return len(self.api_pids())

    def worker_cpu_seconds(self) -> float:
        """CPU time of ``octavia-worker`` (its service manager and worker processes)."""
        return sum(process_cpu_seconds(pid)
                   for pid in (self.worker.pid, *descendants(self.worker.pid)))


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------------------------
# Start and stop


@contextlib.contextmanager
def octavia_peer(start_timeout: float = START_TIMEOUT_S) -> Iterator[OctaviaPeer]:
    """Start a real Octavia (database, broker, API, worker) and yield it; remove all of it on
    the way out. BenchError when it is not installed or does not start."""
    if not peer_available():
        raise BenchError(f"Octavia is not installed in {PEER_DIR / '.venv'}: run "
                         f"'{INSTALL_COMMAND}' first (it is not part of make python-deps)")
    from bench.broker import private_broker  # heavy (tests.nodelab): only when asked for
    from bench.lab import make_workdir, shielded

    with contextlib.ExitStack() as stack:
        try:
            workdir = make_workdir()
            stack.callback(shutil.rmtree, workdir, True)
            stack.callback(_remove_noop_db, NOOP_DB.exists())
            db_url = stack.enter_context(mariadb_database())
            broker = stack.enter_context(private_broker())
            sock = stack.enter_context(_listening_socket())
            _write_files(workdir, db_url, broker.transport_url, sock.fileno())
            _run(workdir, "octavia-db-manage", "--config-file", str(workdir / "octavia.conf"),
                 "upgrade", "head")
            api = _spawn(workdir, "api.log", [str(PEER_BIN / "gunicorn"), "--config",
                                              str(workdir / "gunicorn.conf.py")],
                         pass_fds=(sock.fileno(),))
            stack.callback(_stop_group, api)
            worker = _spawn(workdir, "worker.log", [str(PEER_BIN / "octavia-worker"),
                                                    "--config-file",
                                                    str(workdir / "octavia.conf")])
            stack.callback(_stop_group, worker)
            port = sock.getsockname()[1]
            peer = OctaviaPeer(f"http://{LOOPBACK}:{port}", workdir, api, worker,
                               uuid.uuid4().hex, str(uuid.uuid4()))
            deadline = time.monotonic() + start_timeout
            _wait_api(peer, deadline)
            _wait_consumer(broker.rabbit.env(), broker.rabbit.node_name, peer, deadline)
            _probe(peer, deadline)
            yield peer
        finally:
            with shielded():
                stack.close()


@contextlib.contextmanager
def _listening_socket() -> Iterator[socket.socket]:
    """A socket listening on 127.0.0.1, port 0, for gunicorn (no race for a free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, 0))
        sock.listen(128)
        sock.set_inheritable(True)
        yield sock
    finally:
        sock.close()


def _remove_noop_db(existed_before: bool) -> None:
    """Remove the noop drivers' state file (and SQLite's journal) if this run made it."""
    if existed_before:
        return
    for path in (NOOP_DB, NOOP_DB.with_name(NOOP_DB.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _environ(workdir: Path) -> dict[str, str]:
    """A clean environment: the peer's programs first, nothing of lbaas's environment, no
    Python warnings (eventlet's deprecation, once per process, would fill the logs' ends)."""
    return {"PATH": f"{PEER_BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(workdir),
            "LANG": "C.UTF-8", "PYTHONWARNINGS": "ignore"}


def _run(workdir: Path, program: str, *args: str) -> None:
    done = subprocess.run([str(PEER_BIN / program), *args], cwd=workdir, env=_environ(workdir),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()[-3000:]
        raise BenchError(f"{program} {args[-2:]} failed ({done.returncode}):\n{output}")


def _spawn(workdir: Path, log_name: str, argv: list[str],
           pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a session of its own, output to ``workdir/log_name``."""
    with open(workdir / log_name, "ab") as log:
        return subprocess.Popen(argv, cwd=workdir, env=_environ(workdir), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                pass_fds=pass_fds, start_new_session=True)


def _stop_group(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop a process and its group (gunicorn's workers, octavia-worker's children): TERM,
    then KILL; a last KILL of the group for any child the leader left behind."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait(10)
    _signal_group(proc.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


# --------------------------------------------------------------------------------------------
# Files


def _write_files(workdir: Path, db_url: str, transport_url: str, fd: int) -> None:
    """octavia.conf, the CA the worker signs amphora certificates with, gunicorn's config and
    the WSGI module it serves."""
    (workdir / "locks").mkdir()
    _write_ca(workdir)
    conf = workdir / "octavia.conf"
    conf.touch(mode=0o600)
    write_config(conf, _octavia_sections(workdir, db_url, transport_url))
    (workdir / "gunicorn.conf.py").write_text(_gunicorn_conf(workdir, fd))
    (workdir / f"{WSGI_MODULE}.py").write_text(_wsgi_module(conf))


def _octavia_sections(workdir: Path, db_url: str, transport_url: str
                      ) -> Mapping[str, Mapping[str, object]]:
    return {
        "DEFAULT": {"transport_url": transport_url, "debug": "False",
                    "use_stderr": "True"},
        "api_settings": {"bind_host": LOOPBACK, "auth_strategy": "noauth",
                         "default_provider_driver": "amphora",
                         "enabled_provider_drivers": "amphora:The Octavia Amphora driver.",
                         "healthcheck_enabled": "True",
                         # the database check on every request, like lbaas's SELECT 1
                         "healthcheck_refresh_interval": 0},
        "healthcheck": {"backends": "octavia_db_check"},
        "database": {"connection": db_url},
        "controller_worker": {"amphora_driver": "amphora_noop_driver",
                              "compute_driver": "compute_noop_driver",
                              "network_driver": "network_noop_driver",
                              "image_driver": "image_noop_driver",
                              "volume_driver": "volume_noop_driver",
                              "loadbalancer_topology": "SINGLE",
                              # put into each amphora's config drive (noop: nowhere)
                              "client_ca": workdir / "ca.pem"},
        "task_flow": {"jobboard_enabled": "False"},
        "certificates": {"cert_generator": "local_cert_generator",
                         "cert_manager": "noop_cert_manager",
                         "ca_certificate": workdir / "ca.pem",
                         "ca_private_key": workdir / "ca.key",
                         "server_certs_key_passphrase": secrets.token_urlsafe(24)},
        "oslo_concurrency": {"lock_path": workdir / "locks"},
    }


def _write_ca(workdir: Path) -> None:
    """A self-signed CA (the local certificate generator signs each amphora's with it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lbaas bench octavia CA")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_file = workdir / "ca.key"
    key_file.touch(mode=0o600)
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    (workdir / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _gunicorn_conf(workdir: Path, fd: int) -> str:
    """gunicorn: the pre-bound socket, sync workers, and a file per worker once it has loaded
    the application (``post_worker_init``), which :func:`_wait_api` counts."""
    return (f"bind = ['fd://{fd}']\nworkers = {API_WORKERS}\nworker_class = 'sync'\n"
            f"timeout = 120\nloglevel = 'warning'\nerrorlog = '-'\n"
            f"chdir = {str(workdir)!r}\nwsgi_app = '{WSGI_MODULE}:application'\n\n"
            "def post_worker_init(worker):\n"
            f"    open({str(workdir)!r} + f'/ready.{{worker.pid}}', 'w').close()\n")


def _wsgi_module(conf: Path) -> str:
    """Octavia's WSGI application with its configuration file: it parses ``sys.argv`` as its
    own options when imported, so gunicorn's arguments are replaced first."""
    return ('"""Octavia\'s API for the lbaas benchmark (written by bench/octavia_peer.py)."""\n'
            "import sys\n\n"
            f"sys.argv = ['octavia-api', '--config-file', {str(conf)!r}]\n"
            "from octavia.wsgi.api import application  # noqa: E402,F401\n")


# --------------------------------------------------------------------------------------------
# Readiness


def _exited(peer: OctaviaPeer) -> str | None:
    """What exited of the peer's processes while starting, with the log's tail; None if none."""
    for name, proc in (("gunicorn", peer.api), ("octavia-worker", peer.worker)):
        if proc.poll() is not None:
            return f"{name} exited with {proc.returncode} while starting:\n{peer.log_tail()}"
    return None


def _check_alive(peer: OctaviaPeer) -> None:
    problem = _exited(peer)
    if problem is not None:
        raise BenchError(problem)


def _wait_api(peer: OctaviaPeer, deadline: float) -> None:
    """Until every gunicorn worker has loaded Octavia and the health check answers 200."""

    def loaded() -> int:
        return len(list(peer.workdir.glob("ready.*")))

    if not wait_healthy(peer.base_url, deadline, lambda: _exited(peer),
                        ready=lambda: loaded() >= API_WORKERS, interval=0.2):
        raise BenchError(f"Octavia's API not ready ({loaded()} of {API_WORKERS} workers "
                         f"loaded):\n{peer.log_tail()}")


def _wait_consumer(rabbit_env: Mapping[str, str], node: str, peer: OctaviaPeer,
                   deadline: float) -> None:
    """Until ``octavia-worker`` consumes the provider's queue: a cast sent before would be lost
    (the queue is declared by its consumer)."""
    from tests.nodelab.rabbitmq import RABBIT_BIN

    while True:
        _check_alive(peer)
        done = subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", node, "-q",
                               "list_queues", "name", "consumers"], env=dict(rabbit_env),
                              capture_output=True, text=True, timeout=60, check=False)
        for line in done.stdout.splitlines():
            queue, _, consumers = line.partition("\t")
            if queue == PROVIDER_QUEUE and consumers.strip() not in ("", "0"):
                return
        if time.monotonic() > deadline:
            raise BenchError(f"octavia-worker does not consume {PROVIDER_QUEUE}:\n"
                             f"{peer.log_tail()}")
        time.sleep(1.0)


def _probe(peer: OctaviaPeer, deadline: float) -> None:
    """Create a load balancer in a project of its own and wait until it is ACTIVE: the whole
    path (API, provider, broker, worker, noop drivers) works, and each worker has served."""
    project = uuid.uuid4().hex
    body = {"loadbalancer": {"vip_subnet_id": peer.subnet_id, "project_id": project,
                             "name": "bench-probe"}}
    with httpx.Client(base_url=peer.base_url, timeout=30.0,
                      headers={"X-Project-Id": project}) as client:
        created = client.post("/v2/lbaas/loadbalancers", json=body)
        if created.status_code != 201:
            raise BenchError(f"Octavia refused the probe load balancer: "
                             f"{created.status_code} {created.text[:300]}\n{peer.log_tail()}")
        lb_id = created.json()["loadbalancer"]["id"]
        status = ""
        while status != "ACTIVE":
            _check_alive(peer)
            if status == "ERROR" or time.monotonic() > deadline:
                raise BenchError(f"probe load balancer {status or 'not ACTIVE'}:\n"
                                 f"{peer.log_tail()}")
            time.sleep(0.2)
            shown = client.get(f"/v2/lbaas/loadbalancers/{lb_id}")
            status = shown.json()["loadbalancer"]["provisioning_status"]
        for _ in range(4 * API_WORKERS):  # each worker's first requests load policies
            client.get("/v2/lbaas/loadbalancers", params={"project_id": project})
