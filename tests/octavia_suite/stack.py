"""The cloud octavia-tempest-plugin runs against: a real Keystone and a real ``lbaas server``.

:class:`OctaviaSuiteStack` starts Keystone (:class:`tests.keystone_server.KeystoneServer`), a
service user for lbaas, the ``lbaas server`` process (``auth_strategy = keystone``, the noop
provider, SQLite), registers lbaas in the catalog as ``load-balancer``, as ``network`` (the
Neutron subset it serves) and as ``key-manager`` (its secret store, under ``/key-manager``),
registers a shared VIP network with an IPv4 subnet, and stops it all on the way out, whatever
happened. Used by ``test_octavia_api.py`` and ``__main__.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import httpx

from lbaas.services.secret_cipher import ensure_key_file
from tests.keystone_server import KeystoneServer
from tests.octavia_suite.tempest_run import Cloud, SuiteResult, run_tempest

VIP_CIDR = "10.200.0.0/16"
"""The registered VIP subnet: nothing is plugged (noop provider); no traffic is sent."""
STARTUP_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lbaas_conf(state: Path, port: int, authtoken: dict[str, str]) -> str:
    lines = [
        "[DEFAULT]", f"state_path = {state}", "log_json = false", "log_level = WARNING", "",
        "[api]", "bind_host = 127.0.0.1", f"bind_port = {port}", "auth_strategy = keystone",
        "default_provider = noop", "enabled_providers = noop", "",
        "[keystone_authtoken]", *(f"{key} = {value}" for key, value in authtoken.items()),
    ]
    return "\n".join(lines) + "\n"


class OctaviaSuiteStack:
    """Keystone + lbaas for the life of the ``with`` block; :meth:`run` runs tempest in it."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._given_workdir = workdir
        self.workdir = workdir or Path()
        self.keystone = KeystoneServer()
        self.url = ""
        self.cloud: Cloud | None = None
        self._stack = ExitStack()
        self._server: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OctaviaSuiteStack:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.close()

    def run(self, regexes: list[str], exclude: list[str] | None = None,
            concurrency: int = 2) -> SuiteResult:
        assert self.cloud is not None, "the stack is not started"
        return run_tempest(self.workdir, self.cloud, regexes, concurrency, exclude)

    def server_log(self) -> str:
        path = self.workdir / "lbaas-server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def _start(self) -> None:
        if self._given_workdir is None:
            tmp = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="octavia-suite-"))
            self.workdir = Path(tmp)
        self._stack.enter_context(self.keystone)
        service_user = self.keystone.create_service_user("lbaas")
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        state = self.workdir / "lbaas-state"
        state.mkdir(mode=0o700)
        conf = self.workdir / "lbaas.conf"
        conf.write_text(_lbaas_conf(state, port, self.keystone.authtoken_options(service_user)))
        conf.chmod(0o600)
        ensure_key_file(state / "secret.key")  # [key_manager] encryption_key_file's default
        self._start_server(conf)
        self.keystone.register_load_balancer(self.url)
        self.keystone.register_service("network", self.url, "neutron",
                                       "Networks registered in lbaas (Neutron subset)")
        self.keystone.register_key_manager(self.url)
        self.cloud = Cloud(auth_url=self.keystone.auth_url,
                           admin_password=self.keystone.admin_password,
                           vip_network_id=self._register_vip_network(),
                           providers=self._providers())

    def _start_server(self, conf: Path) -> None:
        lbaas = Path(sys.executable).parent / "lbaas"
        log = (self.workdir / "lbaas-server.log").open("wb")
        self._stack.callback(log.close)
        self._server = subprocess.Popen([str(lbaas), "server", "--config-file", str(conf)],
                                        stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True, env={**os.environ})
        self._stack.callback(self._stop_server)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RuntimeError(f"lbaas server exited: {self.server_log()}")
            try:
                if httpx.get(f"{self.url}/healthcheck", timeout=2.0,
                             trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"lbaas server did not answer in {STARTUP_TIMEOUT}s: "
                           f"{self.server_log()}")

    def _stop_server(self) -> None:
        if self._server is None or self._server.poll() is not None:
            return
        self._server.terminate()
        try:
            self._server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait()

    def _admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, trust_env=False,
                            headers={"X-Auth-Token": self.keystone.issue_token()})

    def _register_vip_network(self) -> str:
        with self._admin() as client:
            net = client.post("/v2.0/networks", json={"network": {
                "name": "tempest-vip", "shared": True}})
            net.raise_for_status()
            network_id = str(net.json()["network"]["id"])
            client.post("/v2.0/subnets", json={"subnet": {
                "network_id": network_id, "cidr": VIP_CIDR, "ip_version": 4,
                "name": "tempest-vip-v4"}}).raise_for_status()
        return network_id

    def _providers(self) -> dict[str, str]:
        with self._admin() as client:
            r = client.get("/v2/lbaas/providers")
            r.raise_for_status()
        return {p["name"]: p["description"] for p in r.json()["providers"]}
