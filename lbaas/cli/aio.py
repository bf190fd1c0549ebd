"""``lbaas up`` (the all-in-one: API, agent and housekeeping in one process, SQLite, in-process
messaging) and ``lbaas agent`` (one network node's agent)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from lbaas.cli.options import cli_config
from lbaas.core.private_files import PrivateFileError
from lbaas.core.status import Provisioning
from lbaas.observability.admin_log import install_admin_log
from lbaas.observability.logging import setup_logging

console = Console(stderr=True)
LOG = logging.getLogger(__name__)
ConfigOpt = Annotated[list[Path] | None, typer.Option(
    "--config-file", "-c", help="oslo.config file(s); default /etc/lbaas/lbaas.conf if present.")]
ADMIN_TOKEN_NAME = "lbaas-up-admin"
ADMIN_TOKEN_FILE = "admin-token"
METRICS_TOKEN_FILE = "metrics.token"


def register(app: typer.Typer) -> None:
    app.command(help="Run everything on this host: API, agent, housekeeping (SQLite, in-process "
                     "messaging). With --demo, also a demo load balancer over two backends.")(up)
    app.command(help="Run the agent of this network node.")(agent)
    app.command(help="Stop every load balancer this host runs and remove their namespaces "
                     "(and the demo network). The database is kept: 'up' rebuilds them.")(down)


def down(config_file: ConfigOpt = None,
         state_path: Annotated[Path, typer.Option(help="Where state lives.")] = Path(
             "/var/lib/lbaas")) -> None:
    from lbaas import demo as demo_net
    from lbaas.agent.access_logs import holder as log_sockets
    from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver

    conf = cli_config(config_file, {"DEFAULT": {"state_path": str(state_path)}})
    driver = HaproxyNamespaceDriver(conf)
    for lb_id in sorted(driver.deployed_ids()):
        driver.undeploy(lb_id)
        console.print(f"stopped load balancer {lb_id}")
    if log_sockets.stop_holder(state_path):
        console.print("log sockets closed")
    if demo_net.was_built(state_path):
        demo_net.remove(state_path)
        console.print("demo network removed")


def agent(config_file: ConfigOpt = None) -> None:
    from lbaas.agent.service import AgentService
    from lbaas.core.scrape_token import ScrapeTokenError
    from lbaas.rpc.transport import make_transport

    conf = cli_config(config_file)
    setup_logging(conf.log_level, conf.log_json)
    install_admin_log(conf)
    try:
        service = AgentService(conf, make_transport(conf), keep_log_sockets=True)
    except ScrapeTokenError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    service.start()
    stop.wait()
    service.stop()


def up(config_file: ConfigOpt = None,
       state_path: Annotated[Path, typer.Option(help="Where state lives.")] = Path(
           "/var/lib/lbaas"),
       port: Annotated[int, typer.Option(help="API port.")] = 9876,
       demo: Annotated[bool, typer.Option(help="Build the demo network and load balancer.")]
       = False,
       exit_after_demo: Annotated[bool, typer.Option(
           help="Stop once the demo answered (for scripted checks).")] = False) -> None:
    import uvicorn

    from lbaas import demo as demo_net
    from lbaas.agent.service import AgentService
    from lbaas.api.app import build_services, create_app
    from lbaas.api.serve import tune_garbage_collector
    from lbaas.rpc.transport import make_transport

    overrides: dict[str, dict[str, object]] = {
        "DEFAULT": {"state_path": str(state_path)},
        "api": {"bind_port": port, "bind_host": "127.0.0.1"},
    }
    if demo:
        overrides["agent"] = {"bridge_mappings": [f"{demo_net.NETWORK_NAME}:{demo_net.BRIDGE}"]}
    conf = cli_config(config_file, overrides)
    # All-in-one defaults; a config file may still change them.
    conf.set_default("host", "all-in-one")
    conf.set_default("interval", 5, group="housekeeping")
    state_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _log_to_file(state_path / "lbaas.log", conf.log_level)
    install_admin_log(conf)
    _secret_store_key(conf.key_manager.encryption_key_file)
    conf.set_default("token_file", str(state_path / METRICS_TOKEN_FILE), group="metrics")
    _metrics_token(conf.metrics.token_file)
    transport = make_transport(conf)
    try:
        services = build_services(conf, transport=transport)
    except PrivateFileError as exc:  # a key or token file open to others: say so, no traceback
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    services.background.append(AgentService(conf, transport, keep_log_sockets=True))
    endpoint = f"http://127.0.0.1:{port}"
    token = _admin_token(services.sessions, state_path)
    clouds = _write_clouds(state_path, endpoint, token)
    if demo:
        demo_net.ensure_bridge()
        for backend in demo_net.BACKENDS:
            demo_net.ensure_backend(backend, state_path)
        _register_demo_network(services.sessions)
    server = uvicorn.Server(uvicorn.Config(create_app(conf, services), host="127.0.0.1",
                                           port=port, log_config=None, access_log=False))
    tune_garbage_collector()
    metrics = _metrics_lines(conf, port)
    threading.Thread(target=_after_start, name="lbaas-up", daemon=True,
                     args=(server, endpoint, token, clouds, demo, exit_after_demo,
                           *metrics)).start()
    server.run()
    if demo and exit_after_demo:
        demo_net.stop_backends(state_path)


def _log_to_file(path: Path, level: str) -> None:
    setup_logging(level, json_lines=True)
    handler = logging.getLogger().handlers[0]
    stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    os.chmod(path, 0o600)
    handler.setStream(stream)  # type: ignore[attr-defined]


def _admin_token(sessions: Any, state_path: Path) -> str:
    """The admin token: the one stored in ``state_path/admin-token`` while it still authenticates
    (so a restart keeps shells and clouds.yaml working), else a new one that replaces it (first
    start, token revoked, database recreated)."""
    from lbaas.db.engine import write_session
    from lbaas.services.tokens import keep_or_replace

    stored = _read_secret(state_path / ADMIN_TOKEN_FILE)
    with write_session(sessions) as session:
        secret, created = keep_or_replace(session, stored, ADMIN_TOKEN_NAME, "admin", ["admin"])
    if created:
        LOG.info("created admin token %s (%s)", ADMIN_TOKEN_NAME,
                 "the stored one no longer authenticates" if stored else "none stored")
    else:
        LOG.info("kept the stored admin token %s", ADMIN_TOKEN_NAME)
    return secret


def _secret_store_key(path: str) -> None:
    """The all-in-one makes the secret store's key on first start (mode 0600); later starts
    keep it (a new key would make every stored secret unreadable)."""
    from lbaas.services.secret_cipher import ensure_key_file

    if ensure_key_file(path):
        LOG.info("created the secret store's key file %s", path)


def _metrics_token(path: str) -> None:
    """The all-in-one makes the metrics scrape token on first start (mode 0600); later starts
    keep it (Prometheus reads the same file). An empty [metrics] token_file: none."""
    from lbaas.core.scrape_token import ensure_token_file

    if path and ensure_token_file(path):
        LOG.info("created the metrics scrape token file %s", path)


def _read_secret(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by the owner only from the moment it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode on open
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


CLOUD = "lbaas"
SECRETS_CLOUD = "lbaas-secrets"
KEY_MANAGER_PATH = "/key-manager/v1"


def _write_clouds(state_path: Path, endpoint: str, token: str) -> Path:
    """``clouds.yaml`` (0600) with two clouds of the admin token: ``lbaas`` (the API's root:
    ``openstack loadbalancer ...``) and ``lbaas-secrets`` (the secret store,
    ``openstack secret ...``). With the ``admin_token`` plugin every client talks to the endpoint
    as given, and python-barbicanclient does not add the version: its endpoint must name it."""
    import yaml

    path = state_path / "clouds.yaml"

    def cloud(url: str) -> dict[str, Any]:
        return {"auth_type": "admin_token", "auth": {"endpoint": url, "token": token}}

    body = {"clouds": {CLOUD: cloud(endpoint),
                       SECRETS_CLOUD: cloud(endpoint + KEY_MANAGER_PATH)}}
    _write_private(path, yaml.safe_dump(body))
    _write_private(state_path / ADMIN_TOKEN_FILE, token + "\n")
    return path


def _register_demo_network(sessions: Any) -> None:
    from sqlalchemy import select

    from lbaas import demo as demo_net
    from lbaas.db import models
    from lbaas.db.engine import write_session

    with write_session(sessions) as session:
        net = session.scalars(select(models.Network)
                              .where(models.Network.name == demo_net.NETWORK_NAME)).first()
        if net is None:
            net = models.Network(id=models.new_id(), name=demo_net.NETWORK_NAME,
                                 project_id="admin", shared=True)
            session.add(net)
            session.flush()
        if not net.subnets:
            session.add(models.Subnet(id=models.new_id(), network_id=net.id,
                                      name=f"{demo_net.NETWORK_NAME}-subnet",
                                      project_id="admin", cidr=demo_net.CIDR, ip_version=4,
                                      gateway_ip=demo_net.GATEWAY,
                                      allocation_pools=[demo_net.ALLOCATION_POOL]))


def _metrics_lines(conf: Any, port: int) -> tuple[list[str], str]:
    """What the panel says about scraping, and the Prometheus jobs to add (printed as plain
    YAML after the panel: rich would wrap long paths)."""
    token_file = conf.metrics.token_file
    if not token_file:
        return ["", escape("metrics ([metrics] token_file is empty): http://127.0.0.1:"
                           f"{port}/metrics answers admins only; the agent's is open")], ""
    targets = {"lbaas-api": f"127.0.0.1:{port}"}
    if conf.agent.metrics_listen:
        targets["lbaas-agent"] = conf.agent.metrics_listen
    jobs = [f"  - job_name: {job}\n"
            f"    authorization: {{credentials_file: {token_file}}}\n"
            f'    static_configs: [{{targets: ["{target}"]}}]\n'
            for job, target in targets.items()]
    urls = ", ".join(f"http://{target}/metrics" for target in targets.values())
    panel = ["", escape(f"metrics:      {urls}"),
             escape(f"              bearer token in {token_file} (Prometheus jobs below)")]
    return panel, "# Prometheus: add to scrape_configs\n" + "".join(jobs)


def _after_start(server: Any, endpoint: str, token: str, clouds: Path, demo: bool,
                 exit_after: bool, metrics: list[str], scrape_config: str) -> None:
    while not server.started:
        time.sleep(0.05)
    lines = [f"API:          {endpoint}  (Octavia v2: {endpoint}/v2/lbaas)",
             # Its path, not the token: this output ends up in logs (journald, CI).
             f"admin token:  {clouds.parent / ADMIN_TOKEN_FILE}",
             f"clouds.yaml:  {clouds}",
             f"dashboard:    {endpoint}/dashboard/  (sign in with the admin token)",
             "",
             f"export OS_CLIENT_CONFIG_FILE={clouds} OS_CLOUD={CLOUD}",
             "openstack loadbalancer list",
             f"openstack --os-cloud {SECRETS_CLOUD} secret list   (TLS certificates)",
             *metrics]
    if demo:
        try:
            vip, answers = _demo_loadbalancer(endpoint, token)
        except Exception as exc:
            LOG.exception("demo load balancer failed")
            console.print(f"[red]demo load balancer failed: {exc}[/red]")
            if exit_after:
                server.should_exit = True
            raise
        lines += ["", "demo load balancer 'demo' over web01 and web02:",
                  *[f"  curl http://{vip}/   ->  {a}" for a in answers],
                  f"try:  curl http://{vip}/"]
    lines += ["", "Ctrl-C stops the API and the agent (load balancers keep serving)."]
    console.print(Panel("\n".join(lines), title="lbaas is up", border_style="green"))
    if scrape_config:
        print(scrape_config, file=sys.stderr, flush=True)
    print(f"LBAAS_UP endpoint={endpoint}", flush=True)
    if exit_after:
        server.should_exit = True


def _demo_loadbalancer(endpoint: str, token: str) -> tuple[str, list[str]]:
    """Create (or find) the demo load balancer and fetch from its VIP twice."""
    from lbaas import demo as demo_net

    headers = {"X-Auth-Token": token}
    with httpx.Client(base_url=endpoint, headers=headers, timeout=30) as api:
        _wait(lambda: any(a["alive"] for a in api.get("/v2.0/agents").json()["agents"]), 30,
              "the agent to report")
        found = api.get("/v2/lbaas/loadbalancers", params={"name": "demo"}).json()
        if found["loadbalancers"]:
            lb = found["loadbalancers"][0]
        else:
            subnet = api.get("/v2.0/subnets", params={
                "name": f"{demo_net.NETWORK_NAME}-subnet"}).json()["subnets"][0]
            body = {"loadbalancer": {
                "name": "demo", "vip_subnet_id": subnet["id"], "listeners": [{
                    "name": "demo-http", "protocol": "HTTP", "protocol_port": 80,
                    "default_pool": {
                        "name": "demo-web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                        "members": [{"name": b.name.split("-")[-1], "address": b.address,
                                     "protocol_port": 80} for b in demo_net.BACKENDS],
                        "healthmonitor": {"type": "HTTP", "delay": 1, "timeout": 1,
                                          "max_retries": 2, "url_path": "/"}}}]}}
            r = api.post("/v2/lbaas/loadbalancers", json=body)
            r.raise_for_status()
            lb = r.json()["loadbalancer"]
        lb_id = lb["id"]
        _wait(lambda: api.get(f"/v2/lbaas/loadbalancers/{lb_id}").json()["loadbalancer"]
              ["provisioning_status"] == Provisioning.ACTIVE, 60,
              "the demo load balancer to be ACTIVE")
        vip = str(lb["vip_address"])
    answers: list[str] = []

    def fetch_both() -> bool:
        """Two answers from two backends. A 503 (members still marked down, as right after a
        restart brought the demo backends back) is not an answer."""
        answers.clear()
        for _ in range(2):
            try:
                reply = httpx.get(f"http://{vip}/", timeout=2)
            except httpx.HTTPError:
                return False
            if reply.status_code != 200:
                return False
            answers.append(reply.text.strip())
        return len(set(answers)) == 2

    _wait(fetch_both, 30, "the VIP to answer from both backends")
    return vip, answers


def _wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (httpx.HTTPError, KeyError, IndexError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)
