"""One request id from the API to a separate ``lbaas agent`` process over a real RabbitMQ, and
no secret in that agent's logs.

The API runs in this process (haproxy provider, a private RabbitMQ from
``bench.broker.private_broker``); the agent is ``lbaas agent -c <file>``, a process of its own
with the real haproxy namespace driver on a lab bridge, logging JSON lines at DEBUG to a file
and writing its admin log. The load balancer has a TERMINATED_HTTPS listener whose PKCS12
bundle is in the secret store, so its private key travels to the agent over RabbitMQ.

The id answered to ``POST /loadbalancers`` must be on the agent's refresh of that load balancer
(fetch, deploy); the id of a listener update on every line of its refresh at the new revision
(fetch, deploy, report) and on its admin events (built, haproxy reloaded); the id of the
``DELETE`` on its ``removed`` event; every agent line has a valid id; verified HTTPS reaches the
backend through the VIP in between. Neither the private key (which haproxy was given), the
bundle, the tenant's token nor the broker's password (in the agent's ``transport_url``) is on
any line of the agent's logs.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lbaas.config import load_config
from lbaas.core.request_ids import is_valid
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from tests.e2e.faults_aio import child_env
from tests.e2e.secret_search import DER_HEADER, found, key_pieces, pieces
from tests.e2e.tls_clients import curl
from tests.functional.harness import Api, build_api, close_api, wait_for
from tests.netlab import Host, Lab, skip_unless_root_and_tools
from tests.tls_material import Authority

pytestmark = skip_unless_root_and_tools("ip", "haproxy", "nsenter", "curl")

NETWORK = "reqid-net"
SUBNET = "10.248.0.0/24"
GATEWAY = "10.248.0.1"
VIP_POOL = ("10.248.0.150", "10.248.0.199")
BACKEND = "10.248.0.11"
BODY = "reqid backend"
NAME = "www.reqid.example"
KM = "/key-manager/v1"


def _rabbit_skip_reason() -> str | None:
    from tests.nodelab import cgroups, rabbitmq

    if not rabbitmq.installed() or not shutil.which(rabbitmq.EPMD):
        return "rabbitmq-server (and epmd) are not installed"
    if not cgroups.available():
        return "no cgroup2 hierarchy is mounted"
    return None


@dataclass
class Setup:
    api: Api
    client: Host
    config: Path
    log: Path
    admin_log: Path
    transport_url: str
    state: Path
    files: Path


def _agent_config(path: Path, state: Path, host: str, transport_url: str, exchange: str,
                  bridge: str) -> Path:
    path.write_text("\n".join([
        "[DEFAULT]", f"host = {host}", f"state_path = {state}", f"transport_url = {transport_url}",
        f"control_exchange = {exchange}", "log_level = DEBUG", "log_json = true", "",
        "[agent]", f"bridge_mappings = {NETWORK}:{bridge}", "report_interval = 0.5",
        "stats_interval = 0.5", "resync_interval = 600", ""]))
    path.chmod(0o600)  # it holds the broker's password
    return path


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    reason = _rabbit_skip_reason()
    if reason:
        pytest.skip(reason)
    from bench.broker import private_broker

    short = Path(tempfile.mkdtemp(prefix="lbrq", dir="/tmp"))  # haproxy's socket path limit
    with private_broker() as broker, Lab() as lab:
        api: Api | None = None
        agent: subprocess.Popen[bytes] | None = None
        config: Path | None = None
        try:
            bridge = lab.bridge("br")
            lab.host("web", bridge, f"{BACKEND}/24").http_server(BODY)
            client = lab.host("cl", bridge, "10.248.0.200/24")
            api = build_api(str(tmp_path / "api"), overrides={
                "DEFAULT": {"host": "api-node", "transport_url": broker.transport_url},
                "api": {"default_provider": "haproxy"}},
                network=(NETWORK, SUBNET, GATEWAY), allocation_pool=VIP_POOL)
            config = _agent_config(tmp_path / "agent.conf", short / "state", f"agent-{lab.tag}",
                                   broker.transport_url, api.services.conf.control_exchange,
                                   bridge)
            log = tmp_path / "agent.log"
            with open(log, "wb") as out:
                agent = subprocess.Popen(
                    [sys.executable, "-m", "lbaas.cli.main", "agent", "-c", str(config)],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True, env=child_env())
            wait_for(lambda: api.admin.get("/v2.0/agents").json()["agents"] if api else [],
                     lambda agents: any(a["alive"] for a in agents), 90)
            yield Setup(api, client, config, log, short / "state" / "logs" / "admin.log",
                        broker.transport_url, short / "state", tmp_path)
        finally:
            try:
                if api is not None:
                    _delete_all(api)
            finally:
                if agent is not None:
                    _stop(agent)
                if config is not None:
                    driver = HaproxyNamespaceDriver(load_config([str(config)]))
                    for lb_id in driver.deployed_ids():
                        driver.undeploy(lb_id)
                if api is not None:
                    close_api(api)
                shutil.rmtree(short, ignore_errors=True)


def _delete_all(api: Api) -> None:
    for lb in api.admin.get("/loadbalancers").json()["loadbalancers"]:
        api.admin.delete(f"/loadbalancers/{lb['id']}?cascade=true")
    wait_for(lambda: api.admin.get("/loadbalancers").json()["loadbalancers"],
             lambda lbs: not lbs, 60)


def _stop(agent: subprocess.Popen[bytes]) -> None:
    if agent.poll() is None:
        os.killpg(agent.pid, signal.SIGTERM)
        try:
            agent.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait(10)


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for text in path.read_text(errors="replace").splitlines():
        if text.startswith("{"):
            lines.append(json.loads(text))
    return lines


def _carry(lines: list[dict[str, Any]], rid: str) -> bool:
    return bool(lines) and all(rid in line["request_id"].split(",") for line in lines)


def _some_carry(lines: list[dict[str, Any]], rid: str) -> bool:
    return any(rid in line["request_id"].split(",") for line in lines)


def _agent_lines(lines: list[dict[str, Any]], lb_id: str, *words: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"].startswith("lbaas.agent")
            and all(w in line["message"] for w in (lb_id, *words))]


def test_the_api_request_id_reaches_the_agent_process_and_no_secret_does(
        setup: Setup) -> None:
    api = setup.api
    authority = Authority.create("reqid CA")
    issued = authority.issue(NAME)
    bundle = base64.b64encode(issued.pkcs12()).decode()
    stored = api.client.post(f"{KM}/secrets", headers={"X-Auth-Token": api.member.token},
                             json={"name": "reqid", "payload": bundle,
                                   "payload_content_type": "application/octet-stream",
                                   "payload_content_encoding": "base64"})
    assert stored.status_code == 201, stored.text
    created = api.member.post("/loadbalancers", {"loadbalancer": {
        "name": "reqid", "vip_subnet_id": api.subnet_id, "listeners": [{
            "protocol": "TERMINATED_HTTPS", "protocol_port": 443,
            "default_tls_container_ref": stored.json()["secret_ref"], "default_pool": {
                "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "members": [{"address": BACKEND, "protocol_port": 80}]}}]}})
    assert created.status_code == 201, created.text
    rid = created.headers["x-openstack-request-id"]
    lb = created.json()["loadbalancer"]
    lb_id = lb["id"]
    wait_for(lambda: api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"],
             lambda lb: lb["provisioning_status"] == "ACTIVE", 90)
    answer = curl(setup.client, setup.files, lb["vip_address"], authority, name=NAME)
    assert answer.code == 200 and BODY in answer.body, answer.error
    password = urlsplit(setup.transport_url).password
    assert password
    needles = {"private key": key_pieces(issued), "PKCS12 bundle": pieces(bundle, DER_HEADER),
               "tenant token": pieces(api.member.token), "broker password": [password]}
    certs = setup.state / "lbaas" / lb_id / "certs"  # the key really reached the agent
    assert "private key" in found("".join(p.read_text() for p in certs.glob("*.pem")), needles)
    assert found(setup.config.read_text(), needles) == ["broker password"]
    # The creation: the agent's first sync may have fetched the new load balancer too (its
    # refresh then carries the sync's id), so the cast's refresh is one of possibly two.
    lines = _json_lines(setup.log)
    assert lines, setup.log.read_text()[-2000:]
    for words in ("fetched its tree", "deployed revision"):
        assert _some_carry(_agent_lines(lines, lb_id, words), rid), words
    created_events = [e for e in _json_lines(setup.admin_log) if e["loadbalancer_id"] == lb_id]
    assert {"deployed", "haproxy_started"} <= {e["event"] for e in created_events}

    # An update: every line of its refresh (at the new revision) carries its id.
    listener_id = lb["listeners"][0]["id"]
    updated = api.member.put(f"/listeners/{listener_id}", {"listener": {"connection_limit": 500}})
    assert updated.status_code == 200, updated.text
    update_rid = updated.headers["x-openstack-request-id"]
    wait_for(lambda: api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"],
             lambda lb: lb["provisioning_status"] == "ACTIVE", 90)
    update_events = [e for e in _json_lines(setup.admin_log)
                     if e["loadbalancer_id"] == lb_id][len(created_events):]
    [built] = [e for e in update_events if e["event"] == "deployed"]
    revision = built["revision"]
    assert {e["event"] for e in update_events} == {"deployed", "haproxy_reloaded"}
    assert _carry(update_events, update_rid), update_events
    lines = _json_lines(setup.log)
    for words in (f"fetched its tree (revision {revision})", f"deployed revision {revision}",
                  f"reporting ACTIVE at revision {revision}"):
        assert _carry(_agent_lines(lines, lb_id, words), update_rid), words
    deleted = api.member.delete(f"/loadbalancers/{lb_id}?cascade=true")
    assert deleted.status_code == 204, deleted.text
    delete_rid = deleted.headers["x-openstack-request-id"]
    wait_for(lambda: api.member.get(f"/loadbalancers/{lb_id}").status_code,
             lambda status: status == 404, 60)

    def removed() -> list[dict[str, Any]]:
        return [line for line in _json_lines(setup.admin_log)
                if line["loadbalancer_id"] == lb_id and line["event"] == "removed"]

    wait_for(removed, bool, 30)  # written after the agent confirmed the deletion

    assert _carry(removed(), delete_rid)
    lines = _json_lines(setup.log)
    # The admin events are on the normal log too.
    assert any(line["logger"] == "lbaas.admin" and line.get("loadbalancer_id") == lb_id
               for line in lines)
    agent_lines = [line for line in lines if line["logger"].startswith("lbaas.agent")]
    without = [line for line in agent_lines
               if not all(is_valid(part) for part in line["request_id"].split(","))]
    assert not without, f"agent lines without a valid id: {without}"
    leaks = {str(path): found(path.read_text(errors="replace"), needles)
             for path in (setup.log, *setup.admin_log.parent.iterdir())}
    assert not any(leaks.values()), leaks
