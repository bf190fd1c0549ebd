"""One request id from the API through RPC to the agent's log lines and back to the server's.

The API (haproxy provider) and a real :class:`lbaas.agent.service.AgentService` (its device is
the in-memory double of the unit tests) run in this process, over oslo.messaging's in-process
transport and over a real, private RabbitMQ (``bench.broker.private_broker``; skipped without
``rabbitmq-server``, root or cgroup2). The request id answered to ``POST /loadbalancers`` must be
the ``request_id`` of the agent's lines refreshing that load balancer (fetch, deploy, report)
and of the server's lines handling its ``update_status``; every agent line has an id. Work
housekeeping sends again carries a new id of its own, which its line names and the agent's lines
for that refresh carry.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pythonjsonlogger.json import JsonFormatter

from lbaas.agent.service import AgentService
from lbaas.core.request_ids import is_valid, request_scope
from lbaas.db import models
from lbaas.db.engine import write_session
from lbaas.observability.logging import RequestIdFilter
from lbaas.services.housekeeping import Housekeeper
from tests.functional.harness import Api, build_api, close_api, wait_for
from tests.unit.agent_doubles import Device

HOST = "node-reqid"


def _rabbit_skip_reason() -> str | None:
    from tests.nodelab import cgroups, rabbitmq

    if os.geteuid() != 0:
        return "a private RabbitMQ needs root (its cgroup)"
    if not rabbitmq.installed() or not shutil.which(rabbitmq.EPMD):
        return "rabbitmq-server (and epmd) are not installed"
    if not cgroups.available():
        return "no cgroup2 hierarchy is mounted"
    return None


@pytest.fixture(params=["fake", "rabbit"])
def transport_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "fake":
        yield "fake:/"
        return
    reason = _rabbit_skip_reason()
    if reason:
        pytest.skip(reason)
    from bench.broker import private_broker

    with private_broker() as broker:
        yield broker.transport_url


@pytest.fixture
def stack(tmp_path: Path, transport_url: str) -> Iterator[tuple[Api, AgentService]]:
    api = build_api(str(tmp_path), overrides={
        "DEFAULT": {"host": HOST, "transport_url": transport_url},
        "api": {"default_provider": "haproxy"},
        "agent": {"bridge_mappings": ["public:br-reqid"], "report_interval": 0.2,
                  "stats_interval": 0.5, "resync_interval": 600},
    })
    agent = AgentService(api.services.conf, api.extra["transport"], driver=Device())
    try:
        agent.start()
        wait_for(lambda: api.admin.get("/v2.0/agents").json()["agents"],
                 lambda agents: any(a["alive"] for a in agents), 30)
        yield api, agent
    finally:
        agent.stop()
        close_api(api)


def test_the_api_request_id_reaches_the_agent_and_its_reports(
        stack: tuple[Api, AgentService], caplog: pytest.LogCaptureFixture) -> None:
    api, _ = stack
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.DEBUG, logger="lbaas"):
        answer = api.member.post("/loadbalancers", {"loadbalancer": {
            "name": "reqid", "vip_subnet_id": api.subnet_id}})
        assert answer.status_code == 201, answer.text
        rid = answer.headers["x-openstack-request-id"]
        lb_id = answer.json()["loadbalancer"]["id"]
        wait_for(lambda: api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"],
                 lambda lb: lb["provisioning_status"] == "ACTIVE", 30)
        # The server logs update_status before it closes the change: it is in by now.
    records = list(caplog.records)

    def lines(logger: str, *words: str) -> list[logging.LogRecord]:
        return [r for r in records if r.name.startswith(logger)
                and all(w in r.getMessage() for w in (lb_id, *words))]

    for words in (("fetched its tree",), ("deployed revision",), ("reporting ACTIVE",)):
        found = lines("lbaas.agent", *words)
        assert found, f"no agent line {words} for {lb_id}"
        assert all(rid in r.request_id.split(",") for r in found), (  # type: ignore[attr-defined]
            words, [r.request_id for r in found])  # type: ignore[attr-defined]
    handled = lines("lbaas.rpc.server_endpoints", "update_status", "ACTIVE")
    assert handled and all(r.request_id == rid for r in handled)  # type: ignore[attr-defined]
    json_line = json.loads(JsonFormatter("%(message)s %(request_id)s").format(handled[0]))
    assert json_line["request_id"] == rid

    agent_lines = [r for r in records if r.name.startswith("lbaas.agent")]
    assert all(is_valid(part) for r in agent_lines
               for part in r.request_id.split(",")), "an agent line without a valid id"  # type: ignore[attr-defined]


RESEND = re.compile(r"sending its work again as request (\S+) \(housekeeping pass (\S*)\)")


def test_a_housekeeping_resend_carries_a_new_id_of_its_own(
        stack: tuple[Api, AgentService], caplog: pytest.LogCaptureFixture) -> None:
    """Work stuck in PENDING_* is sent again under a new id, logged with the pass's id; the
    agent's lines for that refresh carry the new id."""
    api, _ = stack
    services = api.services
    caplog.handler.addFilter(RequestIdFilter())
    answer = api.member.post("/loadbalancers", {"loadbalancer": {
        "name": "resend", "vip_subnet_id": api.subnet_id}})
    assert answer.status_code == 201, answer.text
    first = answer.headers["x-openstack-request-id"]
    lb_id = answer.json()["loadbalancer"]["id"]
    wait_for(lambda: api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"],
             lambda lb: lb["provisioning_status"] == "ACTIVE", 30)
    timeout = services.conf.housekeeping.pending_timeout
    with write_session(services.sessions) as session:  # a change whose cast was lost
        row = session.get(models.LoadBalancer, lb_id)
        assert row is not None
        row.provisioning_status = "PENDING_UPDATE"
        row.status_changed_at = models.utcnow() - dt.timedelta(seconds=timeout + 1)
    keeper = Housekeeper(services.conf, services.sessions, services.providers,
                         services.status)
    with caplog.at_level(logging.DEBUG, logger="lbaas"), request_scope() as pass_id:
        keeper.reconcile_stuck()
        wait_for(lambda: api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"],
                 lambda lb: lb["provisioning_status"] == "ACTIVE", 30)
    records = list(caplog.records)
    [sent] = [r for r in records if r.name == "lbaas.services.housekeeping"
              and lb_id in r.getMessage() and RESEND.search(r.getMessage())
              and pass_id in r.getMessage()]
    match = RESEND.search(sent.getMessage())
    assert match is not None
    new_id = match.group(1)
    assert is_valid(new_id) and new_id not in (pass_id, first)
    assert sent.request_id == new_id  # type: ignore[attr-defined]
    refreshed = [r for r in records if r.name.startswith("lbaas.agent")
                 and lb_id in r.getMessage() and "reporting ACTIVE" in r.getMessage()]
    assert refreshed and all(new_id in r.request_id.split(",")  # type: ignore[attr-defined]
                             for r in refreshed)


def test_a_member_cast_carries_its_change_and_the_agent_builds_without_fetching(
        stack: tuple[Api, AgentService], caplog: pytest.LogCaptureFixture) -> None:
    """Over the transport (the in-process one and RabbitMQ): the server puts the member change
    in the cast, the agent builds the new tree from the one it deployed, without a fetch; a
    change to anything else is fetched."""
    api, agent = stack
    device = agent.manager.driver
    assert isinstance(device, Device)
    lb = api.create_lb()
    pool = api.member.post("/pools", {"pool": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}})
    assert pool.status_code == 201, pool.text
    pool_id = pool.json()["pool"]["id"]
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer", 30)

    def revision() -> int:
        with write_session(api.services.sessions) as session:
            found = session.get(models.LoadBalancer, lb["id"])
            assert found is not None
            return found.revision

    def agent_says(*words: str) -> bool:
        return any(r.name.startswith("lbaas.agent") and lb["id"] in r.getMessage()
                   and all(w in r.getMessage() for w in words) for r in caplog.records)

    with caplog.at_level(logging.DEBUG, logger="lbaas.agent"):
        added = api.member.post(f"/pools/{pool_id}/members", {"member": {
            "address": "10.0.0.41", "protocol_port": 80, "weight": 7}})
        assert added.status_code == 201, added.text
        api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer", 30)
        at = revision()
        assert agent_says(f"built its tree from the member change (revision {at})")
        assert not agent_says(f"fetched its tree (revision {at})")
        deployed = device.deployed[lb["id"]][0]
        assert deployed.revision == at
        assert [(m.address, m.weight) for m in deployed.pools[0].members] == [("10.0.0.41", 7)]

        renamed = api.member.put(f"/pools/{pool_id}", {"pool": {"name": "renamed"}})
        assert renamed.status_code == 200, renamed.text
        api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer", 30)
        assert agent_says(f"fetched its tree (revision {revision()})")
        assert device.deployed[lb["id"]][0].pools[0].name == "renamed"
