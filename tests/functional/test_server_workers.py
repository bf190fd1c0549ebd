"""``lbaas server`` with ``[api] workers = 2``: two worker processes serve one API and one database,
and SIGTERM stops them all."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from bench.common import descendants, lbaas_server
from tests.databases import DATABASES, database_url

WORKERS = 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("database", DATABASES)
def test_two_workers_serve_one_api(database: str) -> None:
    url = database_url(database)
    config: dict[str, dict[str, object]] = {"api": {"workers": WORKERS,
                                                    "default_provider": "noop"}}
    with lbaas_server(url, config) as server:
        workers = descendants(server.process.pid)
        assert len(workers) >= WORKERS, f"expected {WORKERS} worker processes, got {workers}"
        admin = server.token("admin-project", "admin")
        member = server.token("project-a", "member")
        with httpx.Client(base_url=server.base_url, timeout=30,
                          headers={"X-Auth-Token": admin}) as client:
            net = client.post("/v2.0/networks", json={"network": {"name": "n"}}).json()
            sub = client.post("/v2.0/subnets", json={"subnet": {
                "network_id": net["network"]["id"], "cidr": "10.30.0.0/24"}}).json()
        # Fresh connections land on either worker: every request must see every write.
        created = []
        for i in range(12):
            with httpx.Client(base_url=server.base_url, timeout=30,
                              headers={"X-Auth-Token": member}) as client:
                r = client.post("/v2/lbaas/loadbalancers", json={"loadbalancer": {
                    "name": f"lb{i}", "vip_subnet_id": sub["subnet"]["id"]}})
                assert r.status_code == 201, r.text
                created.append(r.json()["loadbalancer"])
        assert len({lb["vip_address"] for lb in created}) == len(created)
        for lb in created:
            with httpx.Client(base_url=server.base_url, timeout=30,
                              headers={"X-Auth-Token": member}) as client:
                shown = client.get(f"/v2/lbaas/loadbalancers/{lb['id']}")
                assert shown.status_code == 200, shown.text
                listed = client.get("/v2/lbaas/loadbalancers", params={"fields": "id"})
                assert {x["id"] for x in listed.json()["loadbalancers"]} >= {lb["id"]}
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=server.base_url, timeout=30,
                          headers={"X-Auth-Token": member}) as client:
            while True:
                statuses = {x["provisioning_status"] for x in client.get(
                    "/v2/lbaas/loadbalancers").json()["loadbalancers"]}
                if statuses == {"ACTIVE"} or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
        assert statuses == {"ACTIVE"}

        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)]
