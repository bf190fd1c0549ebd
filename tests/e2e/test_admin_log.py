"""The admin log of a real agent (haproxy in a namespace, API and agent in one process): the
life of one load balancer told by its lines.

Created: ``deployed`` at its revision and ``haproxy_started``, both with the POST's request id;
a listener update: ``haproxy_reloaded`` with its ``duration_s`` under the PUT's id; haproxy's
master killed: ``haproxy_restart`` from the stats pass, then ``haproxy_started`` again and the
load balancer answers; deleted: ``removed`` with the DELETE's id. Every line is JSON with time,
level, message and the load balancer's id, in a 0600 file.
"""

from __future__ import annotations

import json
import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.observability.admin_log import install_admin_log
from tests.e2e.stack import Stack, answers, eventually, running_stack
from tests.e2e.traffic import member
from tests.functional.harness import wait_for
from tests.netlab import skip_unless_root_and_tools

pytestmark = skip_unless_root_and_tools("ip", "haproxy", "nsenter")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as stack:
        install_admin_log(stack.conf)
        try:
            yield stack
        finally:
            stack.conf.set_override("file", "", group="admin_log")
            install_admin_log(stack.conf)  # removes the handler


def _events(stack: Stack, lb_id: str) -> list[dict[str, Any]]:
    path = Path(stack.conf.admin_log.file)
    return [line for line in map(json.loads, path.read_text().splitlines())
            if line["loadbalancer_id"] == lb_id]


def _wait_event(stack: Stack, lb_id: str, event: str, after: int = 0) -> dict[str, Any]:
    """The first ``event`` line of ``lb_id`` among its lines from number ``after`` on."""
    found: list[dict[str, Any]] = wait_for(
        lambda: [e for e in _events(stack, lb_id)[after:] if e["event"] == event],
        bool, 30)
    return found[0]


def test_the_admin_log_tells_a_load_balancers_life(stack: Stack) -> None:
    stack.backend("A", 11)
    client = stack.client()
    api = stack.api
    created = api.member.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": api.subnet_id, "vip_address": "10.241.0.100", "listeners": [{
            "protocol": "HTTP", "protocol_port": 80, "default_pool": {
                "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
                "members": [member("A", 11)]}}]}})
    assert created.status_code == 201, created.text
    lb = created.json()["loadbalancer"]
    lb_id, post_id = lb["id"], created.headers["x-openstack-request-id"]
    stack.lb_ids.append(lb_id)
    active = stack.wait_lb(lb_id)
    assert active["provisioning_status"] == "ACTIVE"
    built = _wait_event(stack, lb_id, "deployed")
    started = _wait_event(stack, lb_id, "haproxy_started")
    # Work merged with another pass's keeps every id (joined by ",").
    assert all(post_id in e["request_id"].split(",") for e in (built, started))
    assert isinstance(built["revision"], int) and built["level"] == "INFO"
    assert lb_id in built["message"] and built["time"]
    assert answers(client, "10.241.0.100", 2) == ["You've reached A"] * 2

    seen = len(_events(stack, lb_id))
    listener_id = lb["listeners"][0]["id"]
    updated = api.member.put(f"/listeners/{listener_id}",
                             {"listener": {"connection_limit": 500}})
    assert updated.status_code == 200, updated.text
    stack.wait_lb(lb_id)
    reloaded = _wait_event(stack, lb_id, "haproxy_reloaded", seen)
    assert reloaded["request_id"] == updated.headers["x-openstack-request-id"]
    assert isinstance(reloaded["duration_s"], float) and reloaded["duration_s"] > 0

    seen = len(_events(stack, lb_id))
    info = HaproxyProcess(lb_id, stack.conf.state_path).proc_info()
    assert info is not None
    os.kill(info.master_pid, signal.SIGKILL)
    for pid, _ in info.workers:
        os.kill(pid, signal.SIGKILL)
    restart = _wait_event(stack, lb_id, "haproxy_restart", seen)
    assert restart["level"] == "WARNING" and restart["request_id"].startswith("req-")
    again = _wait_event(stack, lb_id, "haproxy_started", seen)
    assert again["request_id"] == restart["request_id"]  # the stats pass's own id
    eventually(lambda: answers(client, "10.241.0.100", 1) == ["You've reached A"])

    deleted = api.member.delete(f"/loadbalancers/{lb_id}?cascade=true")
    assert deleted.status_code == 204, deleted.text
    removed = _wait_event(stack, lb_id, "removed")
    assert removed["request_id"] == deleted.headers["x-openstack-request-id"]
    assert removed["reason"] == "deleted"
    path = Path(stack.conf.admin_log.file)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
