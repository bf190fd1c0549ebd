"""Nothing secret in any log line: a real ``lbaas up`` at DEBUG runs a change set with secrets in
play, and no log it writes holds any of them.

The run: the admin token ``lbaas up`` made and a tenant token made with ``lbaas token
create``, sent as ``X-Auth-Token`` and as an HTTP Basic ``Authorization`` header (plus a wrong
token and wrong Basic credentials, refused); a PKCS12 bundle stored in the secret store
(encrypted under the Fernet key file), a TERMINATED_HTTPS listener serving it (verified HTTPS
from a client namespace reaches the backend), the secret's payload read back, then everything
deleted. Every log of the run is then read: the process's output, ``lbaas.log`` (server and
agent, DEBUG) and the admin log directory (``logs/``); haproxy's state directory is not a log.

Each secret is searched whole and in 24-character pieces (``tests/e2e/secret_search.py``: a
truncated leak counts). The test can fail: the same search
first finds every secret where it belongs (the request that sent it, the key file, the files
haproxy was given), and the logs must hold DEBUG lines of this very run (its load balancer's id,
its admin events).
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.e2e.faults_aio import AllInOne, child_env
from tests.e2e.secret_search import DER_HEADER, found, key_pieces, pieces
from tests.e2e.tls_clients import curl
from tests.netlab import Host, Lab, skip_unless_root_and_tools
from tests.tls_material import Authority

pytestmark = skip_unless_root_and_tools("ip", "haproxy", "nsenter", "openssl", "curl")

NETWORK = "nosecrets-net"
SUBNET = "10.247.0.0/24"
GATEWAY = "10.247.0.1"
VIP = "10.247.0.100"
BACKEND = "10.247.0.11"
NAME = "www.nosecrets.example"
BODY = "nosecrets backend"
KM = "/key-manager/v1"


@dataclass
class Run:
    aio: AllInOne
    config: Path
    lab: Lab
    client: Host
    files: Path

    @property
    def state(self) -> Path:
        return self.aio.state_path


def _config(path: Path, state: Path, bridge: str) -> Path:
    path.write_text("\n".join([
        "[DEFAULT]", f"state_path = {state}", "log_level = DEBUG", "",
        "[api]", "default_provider = haproxy", "",
        "[agent]", f"bridge_mappings = {NETWORK}:{bridge}", "report_interval = 0.5",
        "stats_interval = 0.5", "resync_interval = 10", ""]))
    return path


@contextlib.contextmanager
def _running(tmp_path: Path) -> Iterator[Run]:
    """``lbaas up`` at DEBUG on a lab bridge with a backend and a client; on the way out every
    load balancer is deleted, the process stopped, ``lbaas down`` run and the lab removed."""
    short = Path(tempfile.mkdtemp(prefix="lbns", dir="/tmp"))  # haproxy's socket path limit
    lab = Lab()
    aio: AllInOne | None = None
    try:
        bridge = lab.bridge("br")
        lab.host("web", bridge, f"{BACKEND}/24").http_server(BODY)
        client = lab.host("cl", bridge, "10.247.0.200/24")
        config = _config(tmp_path / "lbaas.conf", short / "state", bridge)
        aio = AllInOne(short / "state", config)
        aio.start()
        yield Run(aio, config, lab, client, tmp_path)
    finally:
        try:
            if aio is not None:
                with contextlib.suppress(Exception):
                    _delete_everything(aio)
                aio.stop()
                down = aio.down()
                assert down.returncode == 0, down.stderr
        finally:
            lab.close()
            shutil.rmtree(short, ignore_errors=True)


def _delete_everything(aio: AllInOne) -> None:
    api = aio.api
    if api is None or aio.proc is None or aio.proc.poll() is not None:
        return
    for lb in api.get("/loadbalancers").json()["loadbalancers"]:
        api.delete(f"/loadbalancers/{lb['id']}?cascade=true")


def _tenant_token(run: Run) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "lbaas.cli.main", "token", "create", "--project", "p-nosecrets",
         "--role", "member", "--name", "tenant-nosecrets", "-f", "json", "-c", str(run.config)],
        capture_output=True, text=True, timeout=120, check=False, env=child_env())
    assert made.returncode == 0, made.stderr
    return str(json.loads(made.stdout)["token"])


def _logs(run: Run) -> dict[str, str]:
    """Every log the run wrote: the process's output, lbaas.log, the admin log directory."""
    files = [run.aio.log, run.state / "lbaas.log",
             *sorted(p for p in (run.state / "logs").rglob("*") if p.is_file())]
    return {str(p): p.read_text(errors="replace") for p in files if p.exists()}


def test_no_secret_of_a_tls_change_set_reaches_any_log(tmp_path: Path) -> None:
    with _running(tmp_path) as run:
        admin = run.aio.api
        assert admin is not None
        admin_token = (run.state / "admin-token").read_text().strip()
        net = admin.post("/v2.0/networks", {"network": {"name": NETWORK, "shared": True}})
        assert net.status_code == 201, net.text
        sub = admin.post("/v2.0/subnets", {"subnet": {
            "network_id": net.json()["network"]["id"], "cidr": SUBNET, "ip_version": 4,
            "gateway_ip": GATEWAY}})
        assert sub.status_code == 201, sub.text
        tenant_token = _tenant_token(run)
        basic = base64.b64encode(f"tenant-nosecrets:{tenant_token}".encode()).decode()
        wrong_token = secrets.token_urlsafe(32)
        wrong_basic = base64.b64encode(f"tenant-nosecrets:{wrong_token}".encode()).decode()
        authority = Authority.create("nosecrets CA")
        issued = authority.issue(NAME)
        p12 = issued.pkcs12()  # salted: each call differs
        bundle = base64.b64encode(p12).decode()
        fernet_key = (run.state / "secret.key").read_text().strip()
        scrape_token = (run.state / "metrics.token").read_text().strip()
        wrong_bearer = secrets.token_urlsafe(32)
        needles = {
            "admin token": pieces(admin_token),
            "tenant token": pieces(tenant_token),
            "wrong token": pieces(wrong_token),
            "Basic credentials": pieces(basic),
            "wrong Basic credentials": pieces(wrong_basic),
            "private key PEM body": key_pieces(issued),
            "PKCS12 base64": pieces(bundle, DER_HEADER),
            "Fernet key": pieces(fernet_key),
            "metrics scrape token": pieces(scrape_token),
            "wrong bearer": pieces(wrong_bearer),
        }

        tenant = httpx.Client(base_url=run.aio.endpoint, timeout=30,
                              headers={"X-Auth-Token": tenant_token})
        by_basic = httpx.Client(base_url=run.aio.endpoint, timeout=30,
                                headers={"Authorization": f"Basic {basic}"})
        with tenant, by_basic:
            stored = tenant.post(f"{KM}/secrets", json={
                "name": "nosecrets", "payload": bundle,
                "payload_content_type": "application/octet-stream",
                "payload_content_encoding": "base64"})
            assert stored.status_code == 201, stored.text
            sent = stored.request.content.decode() + str(stored.request.headers)
            assert {"PKCS12 base64", "tenant token"} <= set(found(sent, needles))
            ref = stored.json()["secret_ref"]
            secret_path = KM + ref.split(KM, 1)[1]
            payload = by_basic.get(f"{secret_path}/payload",
                                   headers={"Accept": "application/octet-stream"})
            assert payload.status_code == 200 and payload.content == p12
            refused = [
                httpx.get(f"{run.aio.endpoint}/v2/lbaas/loadbalancers",
                          headers={"X-Auth-Token": wrong_token}).status_code,
                httpx.get(f"{run.aio.endpoint}/v2/lbaas/loadbalancers",
                          headers={"Authorization": f"Basic {wrong_basic}"}).status_code]
            assert refused == [401, 401]
            scrapes = [httpx.get(f"{run.aio.endpoint}/metrics", timeout=30,
                                 headers={"Authorization": f"Bearer {bearer}"}).status_code
                       for bearer in (scrape_token, wrong_bearer)]
            assert scrapes == [200, 401]

            created = by_basic.post("/v2/lbaas/loadbalancers", json={"loadbalancer": {
                "name": "nosecrets", "vip_subnet_id": sub.json()["subnet"]["id"],
                "vip_address": VIP, "listeners": [{
                    "name": "https", "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
                    "default_tls_container_ref": ref,
                    "default_pool": {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                                     "members": [{"address": BACKEND,
                                                  "protocol_port": 80}]}}]}})
            assert created.status_code == 201, created.text
            lb_id = created.json()["loadbalancer"]["id"]
            admin.wait_active(lb_id, 90)
            answer = curl(run.client, run.files, VIP, authority, name=NAME)
            assert answer.code == 200 and BODY in answer.body, answer.error
            # The key the logs are searched for is the one haproxy was given.
            certs = run.state / "lbaas" / lb_id / "certs"
            given = "".join(p.read_text() for p in certs.iterdir() if p.suffix == ".pem")
            assert "private key PEM body" in found(given, needles)

            deleted = tenant.delete(f"/v2/lbaas/loadbalancers/{lb_id}?cascade=true")
            assert deleted.status_code == 204, deleted.text
            admin.client.timeout = httpx.Timeout(30)
            for _ in range(600):
                if admin.get(f"/loadbalancers/{lb_id}").status_code == 404:
                    break
                subprocess.run(["sleep", "0.1"], check=True)
            assert admin.get(f"/loadbalancers/{lb_id}").status_code == 404
            assert tenant.delete(secret_path).status_code == 204
        assert found(fernet_key, needles) == ["Fernet key"]
        assert found((run.state / "admin-token").read_text(), needles) == ["admin token"]
        run.aio.stop()  # every line written and flushed
        logs = _logs(run)

    main = logs[str(run.state / "lbaas.log")]
    assert lb_id in main and '"level": "DEBUG"' in main, "the log holds no line of this run"
    for logger in ("lbaas.api.access", "lbaas.agent.manager", "lbaas.rpc.server_endpoints",
                   "lbaas.drivers.haproxy.process"):  # the server's and the agent's
        assert f'"logger": "{logger}"' in main, logger
    admin_log = [json.loads(line) for line in logs[str(run.state / "logs" / "admin.log")]
                 .splitlines()]
    assert {"deployed", "haproxy_started", "removed"} <= {
        line["event"] for line in admin_log if line["loadbalancer_id"] == lb_id}
    leaks = {path: found(text, needles) for path, text in logs.items()}
    assert not any(leaks.values()), leaks
