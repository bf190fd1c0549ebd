"""``--wait`` of the ``lbaas`` CLI: against an API whose provider takes a second to finish any
change (a timeout names the status; a load balancer going ERROR fails the wait), and
:func:`lbaas.cli.wait.wait_for_loadbalancer` polling a mocked API."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import select

from lbaas.cli.client import ApiClient
from lbaas.cli.wait import WaitError, wait_for_loadbalancer
from lbaas.db import models
from lbaas.db.engine import write_session
from tests.functional.cli_harness import Cli

# --- waiting --------------------------------------------------------------------------------


def test_wait_with_timeout_fails_with_status(slow_cli: Cli) -> None:
    result = slow_cli("loadbalancer", "create", "--name", "slow", "--vip-subnet-id",
                      slow_cli.subnet_id, "--wait", "--wait-timeout", "0.2", "-f", "json")
    assert result.exit_code == 1
    assert "Timed out" in result.stderr and "PENDING_CREATE" in result.stderr
    assert result.stdout == ""


def test_wait_when_loadbalancer_goes_error_fails(slow_cli: Cli) -> None:
    api = slow_cli.served.api

    def break_it() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with write_session(api.services.sessions) as session:
                lb = session.scalars(select(models.LoadBalancer).where(
                    models.LoadBalancer.name == "doomed")).first()
                if lb is not None:
                    lb.provisioning_status = "ERROR"
                    return
            time.sleep(0.02)

    breaker = threading.Thread(target=break_it)
    breaker.start()
    result = slow_cli("loadbalancer", "create", "--name", "doomed", "--vip-subnet-id",
                      slow_cli.subnet_id, "--wait", "--wait-timeout", "5")
    breaker.join()
    assert result.exit_code == 1
    assert "ERROR" in result.stderr and result.stdout == ""


def test_wait_for_loadbalancer_polls_until_active() -> None:
    states = ["PENDING_UPDATE", "PENDING_UPDATE", "ACTIVE"]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/lbaas/loadbalancers/lb1"
        return httpx.Response(200, json={"loadbalancer": {"id": "lb1",
                                                          "provisioning_status": states.pop(0)}})

    api = ApiClient("http://lbaas.test", "t", transport=httpx.MockTransport(handler))
    lb = wait_for_loadbalancer(api, "lb1", 5, sleep=lambda _s: None)
    assert lb is not None and lb["provisioning_status"] == "ACTIVE"
    states[:] = ["PENDING_UPDATE", "ERROR"]
    with pytest.raises(WaitError, match="ERROR"):
        wait_for_loadbalancer(api, "lb1", 5, sleep=lambda _s: None)
