"""A real Keystone for tests: ``keystone==30.0.0`` served by gunicorn on loopback, in a temp dir.

Used by the pytest fixture ``keystone`` (``tests/conftest.py``) and meant to be used as is by
other runners (the Octavia tempest suite): it imports nothing of pytest or of lbaas. ::

    with KeystoneServer() as ks:
        project = ks.create_project("project-a")
        alice = ks.create_user("alice", project, roles=["member"])
        token = ks.issue_token(alice)                    # project-scoped, fernet
        ks.register_load_balancer("http://127.0.0.1:9876")   # the catalog's load-balancer
        ks.revoke_token(token)

On entering, a temporary directory receives ``keystone.conf`` (SQLite database, fernet tokens
with key repositories in the directory, cheap bcrypt rounds), ``keystone-manage`` creates the
schema, the key repositories and the bootstrap data (user ``admin`` with role ``admin`` on
project ``admin``, region ``RegionOne``, the identity service and its endpoints), then gunicorn
serves ``keystone.wsgi.api:application`` on a socket bound here first (port 0, handed over as
``fd://``, so there is no race for a free port). The context manager yields once ``GET /v3``
answers; on the way out (also after a failure while starting) gunicorn is stopped and the
directory removed.

The Keystone programs come from the separate environment of ``tests/peers`` (``make
python-deps``); :func:`peers_available` says whether it is installed. Admin calls use plain
httpx with an admin token that is re-issued when it is about to expire. Passwords and tokens are
never logged or put in an exception message.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

PEERS_BIN = Path(__file__).resolve().parent / "peers" / ".venv" / "bin"
REGION = "RegionOne"
DEFAULT_DOMAIN = "default"


class KeystoneError(RuntimeError):
    """Keystone did not start, or an admin call failed."""


def peers_available(peers_bin: Path = PEERS_BIN) -> bool:
    """Whether ``keystone-manage`` and ``gunicorn`` of the peers environment are installed."""
    return all((peers_bin / name).exists() for name in ("keystone-manage", "gunicorn"))


@dataclass(frozen=True)
class Project:
    id: str
    name: str


@dataclass(frozen=True)
class User:
    """A Keystone user, with the password it was created with and its default project."""

    id: str
    name: str
    password: str
    project: Project

    def openstack_environ(self, auth_url: str) -> dict[str, str]:
        """The ``OS_*`` variables of password authentication scoped to the user's project."""
        return {"OS_AUTH_TYPE": "password", "OS_AUTH_URL": auth_url,
                "OS_IDENTITY_API_VERSION": "3", "OS_USERNAME": self.name,
                "OS_PASSWORD": self.password, "OS_PROJECT_NAME": self.project.name,
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                "OS_REGION_NAME": REGION, "OS_INTERFACE": "public"}


class KeystoneServer:
    """Keystone on ``127.0.0.1:<port>`` for the life of the ``with`` block.

    :param token_expiration: ``[token] expiration`` in seconds (Keystone's default is 3600; a
        few seconds give tokens that expire during a test).
    :param workers: gunicorn worker processes. One by default: each worker pays Keystone's
        slow first request (policy, drivers) again, and shares the SQLite file with the others.
    :param threads: requests each worker serves at once. One by default: Keystone's SQLite
        database refuses concurrent writers ("database is locked", a 500 to the client), and
        even token issuing writes (a user's last activity).
    :param startup_timeout: seconds to wait for ``GET /v3`` to answer.
    :param peers_bin: where ``keystone-manage`` and ``gunicorn`` are.
    :param pycache_dir: where Keystone's bytecode is cached when ``PYTHONDONTWRITEBYTECODE``
        is set (kept across runs: it only saves start-up time).
    """

    def __init__(self, token_expiration: int = 3600, workers: int = 1, threads: int = 1,
                 startup_timeout: float = 90.0, peers_bin: Path = PEERS_BIN,
                 pycache_dir: Path | None = None) -> None:
        self.token_expiration = token_expiration
        self.workers = workers
        self.threads = threads
        self.startup_timeout = startup_timeout
        self.peers_bin = peers_bin
        self.pycache_dir = pycache_dir or Path(tempfile.gettempdir()) / \
            f"keystone-pycache-{os.getuid()}"
        self.admin_password = secrets.token_urlsafe(16)
        self.workdir: Path | None = None
        self.url = ""
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._http: httpx.Client | None = None
        self._admin_token: tuple[str, float] | None = None

    # -- life cycle -------------------------------------------------------------------------

    @property
    def auth_url(self) -> str:
        """The identity endpoint clients authenticate at (``<url>/v3``)."""
        return f"{self.url}/v3"

    @property
    def pid(self) -> int | None:
        """gunicorn's (the arbiter's) process id while serving."""
        return self._proc.pid if self._proc is not None else None

    @property
    def config_file(self) -> Path:
        assert self.workdir is not None, "KeystoneServer is not started"
        return self.workdir / "keystone.conf"

    @property
    def log_file(self) -> Path:
        assert self.workdir is not None, "KeystoneServer is not started"
        return self.workdir / "keystone.log"

    def __enter__(self) -> KeystoneServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Configure, bootstrap and serve Keystone; everything is undone if a step fails."""
        if not peers_available(self.peers_bin):
            raise KeystoneError(f"Keystone is not installed in {self.peers_bin} "
                                "(run 'make python-deps')")
        self.workdir = Path(tempfile.mkdtemp(prefix="keystone-"))
        try:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind(("127.0.0.1", 0))
            self._sock.listen(128)
            self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
            self._write_config()
            # Each keystone-manage spends seconds importing Keystone: run what is independent
            # at the same time (the schema and both key repositories; then the bootstrap data
            # while gunicorn's workers start).
            owner = self._owner_args()
            self._finish(self._manage("db_sync"), self._manage("fernet_setup", *owner),
                         self._manage("credential_setup", *owner))
            # The password goes in the environment (OS_BOOTSTRAP_PASSWORD), not on the
            # command line that every process may read.
            bootstrap = self._manage("bootstrap", "--bootstrap-region-id", REGION,
                                     "--bootstrap-admin-url", self.auth_url,
                                     "--bootstrap-internal-url", self.auth_url,
                                     "--bootstrap-public-url", self.auth_url)
            self._serve()
            self._finish(bootstrap)
            self._http = httpx.Client(base_url=self.url, timeout=60.0, trust_env=False)
            self._wait_ready()
            self._token()  # the first real request: Keystone loads its policy, drivers...
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop gunicorn (and its workers) and remove the directory. Safe to call twice."""
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

    def _write_config(self) -> None:
        assert self.workdir is not None
        work = self.workdir
        for repo in ("fernet-keys", "credential-keys"):
            (work / repo).mkdir(mode=0o700)
        self.config_file.write_text(f"""\
[DEFAULT]
debug = false
use_stderr = true

[database]
connection = sqlite:///{work}/keystone.sqlite
# A throw-away database: no fsync on each commit.
sqlite_synchronous = false

[token]
provider = fernet
expiration = {self.token_expiration}

[fernet_tokens]
key_repository = {work}/fernet-keys

[fernet_receipts]
key_repository = {work}/fernet-keys

[credential]
key_repository = {work}/credential-keys

[identity]
password_hash_algorithm = bcrypt
password_hash_rounds = 4

# Keystone's own cache, in this process's memory: coherent only because one worker serves
# every request; it makes Keystone about ten times faster here (roles, catalog, tokens).
[cache]
enabled = {str(self.workers == 1).lower()}
backend = dogpile.cache.memory
""")
        self.config_file.chmod(0o600)

    def _owner_args(self) -> list[str]:
        """``--keystone-user/--keystone-group`` of this process (required when run as root)."""
        return ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
                "--keystone-group", grp.getgrgid(os.getgid()).gr_name]

    def _environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("OS_") and k.lower() not in ("http_proxy", "https_proxy",
                                                               "all_proxy")}
        assert self.workdir is not None
        if env.pop("PYTHONDONTWRITEBYTECODE", None):
            # Without bytecode every keystone-manage and gunicorn worker would compile
            # thousands of modules again; cache it outside the peers environment instead.
            env["PYTHONPYCACHEPREFIX"] = str(self.pycache_dir)
        env.update(OS_KEYSTONE_CONFIG_DIR=str(self.workdir),
                   OS_KEYSTONE_CONFIG_FILES="keystone.conf", no_proxy="127.0.0.1,localhost")
        return env

    def _manage(self, *args: str) -> subprocess.Popen[str]:
        """Start ``keystone-manage`` on our configuration (see :meth:`_finish`)."""
        argv = [str(self.peers_bin / "keystone-manage"), "--config-file", str(self.config_file),
                *args]
        env = {**self._environ(), "OS_BOOTSTRAP_PASSWORD": self.admin_password}
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def _finish(self, *procs: subprocess.Popen[str]) -> None:
        """Wait for ``keystone-manage`` commands; the output of one that failed (the admin
        password masked) goes into the exception."""
        failures = []
        for proc in procs:
            output, _ = proc.communicate(timeout=300)
            if proc.returncode != 0:
                output = output[-3000:].replace(self.admin_password, "***")
                command = proc.args[3] if isinstance(proc.args, list) else str(proc.args)
                failures.append(f"keystone-manage {command} exited {proc.returncode}:\n{output}")
        if failures:
            raise KeystoneError("\n".join(failures))

    def _serve(self) -> None:
        """Start gunicorn. Its settings go in ``gunicorn.conf.py`` (read from the working
        directory), not on the command line: Keystone parses the process's arguments as its
        own and refuses gunicorn's."""
        assert self._sock is not None and self.workdir is not None
        fd = self._sock.fileno()
        (self.workdir / "gunicorn.conf.py").write_text(
            f"bind = ['fd://{fd}']\nworkers = {self.workers}\nthreads = {self.threads}\n"
            "timeout = 120\n"
            "loglevel = 'warning'\nerrorlog = '-'\nwsgi_app = 'keystone.wsgi.api:application'\n")
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
                raise KeystoneError(f"gunicorn exited {self._proc.returncode} while starting:"
                                    f"\n{self._log_tail()}")
            try:
                r = self._http.get("/v3", timeout=5.0)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise KeystoneError(f"Keystone did not answer GET /v3 within {self.startup_timeout}s "
                            f"(last: {last}):\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    # -- identity API ------------------------------------------------------------------------

    def issue_token(self, user: User | None = None, project: Project | None = None,
                    password: str | None = None) -> str:
        """A project-scoped token of ``user`` (default: ``admin``) on ``project`` (default:
        the user's project), by password authentication."""
        name = user.name if user else "admin"
        secret = password if password is not None else (user.password if user
                                                         else self.admin_password)
        scope = project or (user.project if user else Project("", "admin"))
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": name, "domain": {"id": DEFAULT_DOMAIN}, "password": secret}}},
            "scope": {"project": {"name": scope.name, "domain": {"id": DEFAULT_DOMAIN}}}}}
        try:
            r = self._client().post("/v3/auth/tokens", json=body)
        except httpx.HTTPError as exc:
            raise KeystoneError(f"token for {name}: {exc!r}; Keystone's log ends with:\n"
                                f"{self._log_tail()}") from exc
        if r.status_code != 201:
            raise KeystoneError(f"token for {name} on {scope.name}: HTTP {r.status_code} "
                                f"{r.text[:500]}")
        return r.headers["X-Subject-Token"]

    def revoke_token(self, token: str) -> None:
        """``DELETE /v3/auth/tokens``: the token is invalid from now on."""
        self._admin("DELETE", "/v3/auth/tokens", headers={"X-Subject-Token": token},
                    expect=204)

    def token_is_valid(self, token: str) -> bool:
        """Keystone's own verdict on ``token`` (``GET /v3/auth/tokens``)."""
        r = self._admin_request("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})
        return r.status_code == 200

    def create_project(self, name: str, description: str = "") -> Project:
        body = {"project": {"name": name, "domain_id": DEFAULT_DOMAIN,
                            "description": description, "enabled": True}}
        data = self._admin("POST", "/v3/projects", json=body, expect=201)["project"]
        return Project(data["id"], data["name"])

    def project(self, name: str) -> Project:
        """An existing project by name (``admin``, ``service``...)."""
        found = self._admin("GET", "/v3/projects", params={"name": name})["projects"]
        if not found:
            raise KeystoneError(f"no project named {name}")
        return Project(found[0]["id"], found[0]["name"])

    def create_user(self, name: str, project: Project, roles: tuple[str, ...] | list[str] = (),
                    password: str | None = None) -> User:
        """A user of the default domain whose default project is ``project``, with ``roles``
        on it (Keystone's bootstrap roles: ``admin``, ``manager``, ``member``, ``reader``,
        ``service``)."""
        password = password or secrets.token_urlsafe(16)
        body = {"user": {"name": name, "domain_id": DEFAULT_DOMAIN, "password": password,
                         "default_project_id": project.id, "enabled": True}}
        data = self._admin("POST", "/v3/users", json=body, expect=201)["user"]
        user = User(data["id"], data["name"], password, project)
        for role in roles:
            self.assign_role(user, project, role)
        return user

    def assign_role(self, user: User, project: Project, role: str) -> None:
        role_id = self.role_id(role)
        self._admin("PUT", f"/v3/projects/{project.id}/users/{user.id}/roles/{role_id}",
                    expect=204)

    def role_id(self, name: str) -> str:
        found = self._admin("GET", "/v3/roles", params={"name": name})["roles"]
        if not found:
            raise KeystoneError(f"no role named {name}")
        return str(found[0]["id"])

    def create_service_user(self, name: str = "lbaas") -> User:
        """The user a service validates tokens with (``[keystone_authtoken]``): role
        ``service`` on project ``service`` (created if missing)."""
        try:
            project = self.project("service")
        except KeystoneError:
            project = self.create_project("service", "Service users")
        return self.create_user(name, project, roles=["service"])

    def register_load_balancer(self, url: str, name: str = "octavia") -> str:
        """Register the ``load-balancer`` service at ``url``, the API's root (as for Octavia:
        clients read the version document there and append ``/v2/...``); its id."""
        return self.register_service("load-balancer", url, name,
                                     "Octavia Load Balancing Service")

    def register_key_manager(self, lbaas_url: str, name: str = "barbican") -> str:
        """Register lbaas's secret store as the ``key-manager`` service at
        ``<lbaas_url>/key-manager`` (Barbican's root: clients read the version document there
        and append ``/v1/...``); its id."""
        return self.register_service("key-manager", f"{lbaas_url.rstrip('/')}/key-manager",
                                     name, "The lbaas secret store (Barbican's API)")

    def register_service(self, service_type: str, url: str, name: str,
                         description: str = "") -> str:
        """A service of ``service_type`` with public, internal and admin endpoints at ``url``
        in ``RegionOne`` (``openstack service create`` + ``openstack endpoint create``); its
        id. A service of that type registered before is deleted with its endpoints."""
        services = self._admin("GET", "/v3/services", params={"type": service_type})
        for old in services["services"]:
            self._admin("DELETE", f"/v3/services/{old['id']}", expect=204)
        body = {"service": {"name": name, "type": service_type, "enabled": True,
                            "description": description}}
        service_id = str(self._admin("POST", "/v3/services", json=body,
                                     expect=201)["service"]["id"])
        for interface in ("public", "internal", "admin"):
            self._admin("POST", "/v3/endpoints", expect=201, json={"endpoint": {
                "service_id": service_id, "interface": interface, "url": url.rstrip("/"),
                "region_id": REGION, "enabled": True}})
        return service_id

    def authtoken_options(self, service_user: User, token_cache_time: int = 300
                          ) -> dict[str, str]:
        """The ``[keystone_authtoken]`` section of a service that validates tokens as
        ``service_user``. ``token_cache_time`` -1 disables the middleware's token cache (a
        revoked token is then refused at once, at the price of one Keystone call a request)."""
        return {"www_authenticate_uri": self.auth_url, "auth_url": self.auth_url,
                "auth_type": "password", "username": service_user.name,
                "password": service_user.password, "project_name": service_user.project.name,
                "user_domain_id": DEFAULT_DOMAIN, "project_domain_id": DEFAULT_DOMAIN,
                "region_name": REGION, "interface": "public",
                "token_cache_time": str(token_cache_time)}

    # -- plumbing ------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            raise KeystoneError("KeystoneServer is not started")
        return self._http

    def _token(self) -> str:
        now = time.monotonic()
        if self._admin_token is None or self._admin_token[1] <= now:
            lifetime = max(1.0, min(600.0, self.token_expiration / 2))
            self._admin_token = (self.issue_token(), now + lifetime)
        return self._admin_token[0]

    def _admin_request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"X-Auth-Token": self._token(), **kw.pop("headers", {})}
        try:
            return self._client().request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise KeystoneError(f"{method} {path}: {exc!r}; Keystone's log ends with:\n"
                                f"{self._log_tail()}") from exc

    def _admin(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        r = self._admin_request(method, path, **kw)
        if r.status_code != expect:
            raise KeystoneError(f"{method} {path}: HTTP {r.status_code} {r.text[:500]}")
        return r.json() if r.content else None


def _terminate(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop gunicorn's process group (arbiter and workers): TERM, then KILL."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
    _signal_group(proc.pid, signal.SIGKILL)  # any worker the arbiter left behind


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
