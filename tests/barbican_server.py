"""A real Barbican for tests: ``barbican==23.0.0`` (tests/peers) served by gunicorn on loopback.

Used by the pytest fixture ``barbican`` (``tests/conftest.py``); imports nothing of pytest or of
lbaas. It trusts a running :class:`~tests.keystone_server.KeystoneServer`: ::

    with BarbicanServer(keystone) as barbican:       # registered as key-manager in the catalog
        ref = barbican.store_secret(token, payload)  # as the token's user
        barbican.acl_users(token, ref)               # user ids of the read ACL

On entering, a temporary directory (the server's HOME) receives ``.barbican/barbican.conf``
(SQLite database created at
start, the ``simple_crypto`` plugin with a freshly generated KEK, keystonemiddleware validating
tokens as a service user of its own), a copy of Barbican's paste pipeline (``/v1`` behind
``authtoken``) and a WSGI module that loads it; gunicorn serves it on a socket bound here first
(handed over as ``fd://``). The context manager yields once ``GET /`` answers; on the way out
gunicorn is stopped and the directory removed. The Keystone catalog's ``key-manager`` service is
this Barbican while it runs. Passwords, tokens and payloads are never logged.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from tests.keystone_server import PEERS_BIN, KeystoneServer, _terminate

PASTE = """\
[composite:main]
use = egg:Paste#urlmap
/: barbican_version
/v1: barbican_api

[pipeline:barbican_version]
pipeline = request_id http_proxy_to_wsgi microversion versionapp

[pipeline:barbican_api]
pipeline = request_id http_proxy_to_wsgi authtoken context microversion apiapp

[app:apiapp]
paste.app_factory = barbican.api.app:create_main_app

[app:versionapp]
paste.app_factory = barbican.api.app:create_version_app

[filter:context]
paste.filter_factory = barbican.api.middleware.context:ContextMiddleware.factory

[filter:microversion]
paste.filter_factory = barbican.api.middleware.microversion:MicroversionMiddleware.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory

[filter:request_id]
paste.filter_factory = oslo_middleware.request_id:RequestId.factory

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware:HTTPProxyToWSGI.factory
"""

WSGI = """\
from paste import deploy

application = deploy.loadapp("config:" + {paste!r})
"""


class BarbicanError(RuntimeError):
    """Barbican did not start, or a call failed."""


def barbican_available(peers_bin: Path = PEERS_BIN) -> bool:
    """Whether Barbican and gunicorn are installed in the peers environment."""
    return all((peers_bin / name).exists() for name in ("barbican-manage", "gunicorn"))


class BarbicanServer:
    """Barbican on ``127.0.0.1:<port>`` for the life of the ``with`` block."""

    def __init__(self, keystone: KeystoneServer, startup_timeout: float = 90.0,
                 peers_bin: Path = PEERS_BIN) -> None:
        self.keystone = keystone
        self.startup_timeout = startup_timeout
        self.peers_bin = peers_bin
        self.workdir: Path | None = None
        self.url = ""
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._http: httpx.Client | None = None

    def __enter__(self) -> BarbicanServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def log_file(self) -> Path:
        assert self.workdir is not None, "BarbicanServer is not started"
        return self.workdir / "barbican.log"

    def start(self) -> None:
        if not barbican_available(self.peers_bin):
            raise BarbicanError(f"Barbican is not installed in {self.peers_bin} "
                                "(run 'make python-deps')")
        self.workdir = Path(tempfile.mkdtemp(prefix="barbican-"))
        try:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind(("127.0.0.1", 0))
            self._sock.listen(128)
            self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
            self._write_config()
            self._serve()
            self._http = httpx.Client(base_url=self.url, timeout=60.0, trust_env=False)
            self._wait_ready()
            self.register()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._proc is not None:
            _terminate(self._proc)
            self._proc = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def register(self) -> None:
        """Make this Barbican the Keystone catalog's ``key-manager`` (again: another test may
        have registered lbaas's built-in store there)."""
        self.keystone.register_service("key-manager", self.url, "barbican",
                                       "Barbican (tests/barbican_server.py)")

    def _write_config(self) -> None:
        work = self.workdir
        assert work is not None
        service = self.keystone.create_service_user(f"barbican-{secrets.token_hex(4)}")
        authtoken = self.keystone.authtoken_options(service, token_cache_time=-1)
        kek = base64.b64encode(secrets.token_bytes(32)).decode()
        # Barbican reads only oslo.config's default files: ~/.barbican/barbican.conf first
        # (the server's HOME is the directory).
        (work / ".barbican").mkdir(mode=0o700)
        config = work / ".barbican" / "barbican.conf"
        config.write_text("\n".join([
            "[DEFAULT]", f"host_href = {self.url}", "debug = false", "use_stderr = true",
            "db_auto_create = true", "",
            "[database]", f"connection = sqlite:///{work}/barbican.sqlite", "",
            "[secretstore]", "enabled_secretstore_plugins = store_crypto", "",
            "[crypto]", "enabled_crypto_plugins = simple_crypto", "",
            "[simple_crypto_plugin]", f"kek = {kek}", "",
            "[keystone_authtoken]", *(f"{k} = {v}" for k, v in authtoken.items()), "",
        ]) + "\n")
        config.chmod(0o600)
        paste = work / "barbican-api-paste.ini"
        paste.write_text(PASTE)
        (work / "barbican_wsgi.py").write_text(WSGI.format(paste=str(paste)))

    def _environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("OS_") and k.lower() not in ("http_proxy", "https_proxy",
                                                               "all_proxy")}
        if env.pop("PYTHONDONTWRITEBYTECODE", None):
            env["PYTHONPYCACHEPREFIX"] = str(self.keystone.pycache_dir)
        assert self.workdir is not None
        env.update(no_proxy="127.0.0.1,localhost", HOME=str(self.workdir))
        return env

    def _serve(self) -> None:
        assert self._sock is not None and self.workdir is not None
        fd = self._sock.fileno()
        (self.workdir / "gunicorn.conf.py").write_text(
            f"bind = ['fd://{fd}']\nworkers = 1\nthreads = 1\ntimeout = 120\n"
            "loglevel = 'warning'\nerrorlog = '-'\nwsgi_app = 'barbican_wsgi:application'\n")
        with open(self.log_file, "ab") as log:
            self._proc = subprocess.Popen([str(self.peers_bin / "gunicorn")],
                                          env=self._environ(), stdout=log,
                                          stderr=subprocess.STDOUT, pass_fds=(fd,),
                                          cwd=self.workdir, start_new_session=True)

    def _wait_ready(self) -> None:
        assert self._proc is not None and self._http is not None
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BarbicanError(f"gunicorn exited {self._proc.returncode} while starting:"
                                    f"\n{self._log_tail()}")
            try:
                r = self._http.get("/", timeout=5.0)
                if r.status_code in (200, 300):
                    return
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise BarbicanError(f"Barbican did not answer GET / within {self.startup_timeout}s "
                            f"(last: {last}):\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    # -- Barbican's API, as a user ------------------------------------------------------------

    def _call(self, method: str, path: str, token: str, expect: int, **kw: object
              ) -> httpx.Response:
        assert self._http is not None, "BarbicanServer is not started"
        r = self._http.request(method, path, headers={"X-Auth-Token": token}, **kw)  # type: ignore[arg-type]
        if r.status_code != expect:
            raise BarbicanError(f"{method} {path}: HTTP {r.status_code} {r.text[:300]}")
        return r

    def store_secret(self, token: str, payload: bytes | str, name: str = "tls") -> str:
        """``openstack secret store`` as the token's user; the secret's ref."""
        if isinstance(payload, bytes):
            body = {"name": name, "payload": base64.b64encode(payload).decode(),
                    "payload_content_type": "application/octet-stream",
                    "payload_content_encoding": "base64"}
        else:
            body = {"name": name, "payload": payload, "payload_content_type": "text/plain"}
        ref: str = self._call("POST", "/v1/secrets", token, 201, json=body).json()["secret_ref"]
        return ref

    def store_container(self, token: str, secret_refs: dict[str, str],
                        type_: str = "certificate") -> str:
        """``openstack secret container create`` as the token's user; the container's ref."""
        body = {"type": type_, "name": "tls",
                "secret_refs": [{"name": n, "secret_ref": r} for n, r in secret_refs.items()]}
        ref: str = self._call("POST", "/v1/containers", token, 201,
                              json=body).json()["container_ref"]
        return ref

    def acl_users(self, token: str, ref: str) -> list[str]:
        """The user ids of the read ACL of the secret or container ``ref``."""
        path = "/v1/" + "/".join(ref.rstrip("/").rsplit("/", 2)[-2:]) + "/acl"
        data = self._call("GET", path, token, 200).json()
        return list(data.get("read", {}).get("users", []))
