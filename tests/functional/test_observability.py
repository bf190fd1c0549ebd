"""Request ids in responses and logs; Prometheus metrics."""

from __future__ import annotations

import json
import logging
import re

import pytest

from lbaas.observability.logging import RequestIdFilter
from tests.functional.harness import Api


def test_every_response_carries_a_request_id(sqlite_api: Api) -> None:
    r = sqlite_api.member.get("/loadbalancers")
    assert re.match(r"^req-[0-9a-f-]{36}$", r.headers["x-openstack-request-id"])
    r2 = sqlite_api.client.get("/v2/lbaas/nothing-here")
    assert r2.status_code == 404 and r2.headers["x-openstack-request-id"].startswith("req-")
    assert r2.json()["faultcode"] == "Client"


def test_request_id_is_on_every_log_line_it_causes(sqlite_api: Api,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    from pythonjsonlogger.json import JsonFormatter

    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="lbaas"):
        r = sqlite_api.member.get("/loadbalancers")
    rid = r.headers["x-openstack-request-id"]
    access = [rec for rec in caplog.records if rec.name == "lbaas.api.access"]
    assert access and all(getattr(rec, "request_id", None) == rid for rec in access)
    line = JsonFormatter("%(message)s %(request_id)s").format(access[-1])
    assert json.loads(line)["request_id"] == rid


def test_metrics_count_requests_and_objects(sqlite_api: Api) -> None:
    sqlite_api.create_lb()
    sqlite_api.member.get("/loadbalancers")
    text = sqlite_api.client.get("/metrics", headers={"X-Auth-Token": sqlite_api.admin.token}).text
    assert re.search(r'lbaas_api_requests_total\{code="200",method="GET",'
                     r'route="/v2/lbaas/loadbalancers"\} [1-9]', text)
    assert "lbaas_api_request_duration_seconds_bucket" in text
    assert re.search(r'lbaas_objects\{operating_status="ONLINE",provisioning_status="ACTIVE",'
                     r'type="loadbalancer"\} 1\.0', text)


def test_tokens_never_reach_logs(sqlite_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        sqlite_api.member.get("/loadbalancers")
        sqlite_api.client.get("/v2/lbaas/loadbalancers", headers={"X-Auth-Token": "lbaas_bad"})
    assert sqlite_api.member.token not in caplog.text
    assert "lbaas_bad" not in caplog.text
