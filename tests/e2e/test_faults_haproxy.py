"""Fault tests of the data plane against the real all-in-one (``lbaas up`` as a subprocess,
SQLite, in-process messaging, real haproxy in ``qlbaas-`` namespaces on a lab bridge, backends
and a client in lab namespaces):

* reloads under a stream of API changes fail no request (fresh and keep-alive connections);
* a haproxy killed with SIGKILL (master or worker) is restarted by the agent and traffic and the
  API status come back;
* a load balancer namespace deleted by hand is rebuilt, with haproxy running inside it again.

Every wait is bounded; the module fixture ``env`` (tests/e2e/faults_aio.py) removes every load
balancer, stops the process and checks that no namespace, link or haproxy of this run survives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Any

import pytest

from lbaas.drivers.interface.vip_plug import NS_PREFIX
from tests.e2e.faults import eventually, member_body, note, pending_statuses
from tests.e2e.faults_aio import Env, haproxy_in_its_namespace
from tests.e2e.faults_load import load

# -- reloads ---------------------------------------------------------------------------------------


def test_reloads_under_api_changes_fail_no_request(fresh: Env) -> None:
    """~20 API changes (weights, add/remove members, pool updates, a batch update), each waited
    ACTIVE, while a client sends paced requests on new and on keep-alive connections: every
    request succeeds."""
    env = fresh
    api = env.api
    lb = env.create_lb("reload", ["w1", "w2", "w3"])
    lb_id, vip, pool_id = lb["id"], lb["vip_address"], lb["pools"][0]["id"]
    ids = {name: m["id"] for name, m in env.members(pool_id).items()}
    pool = f"/pools/{pool_id}"

    def member(name: str) -> str:
        return f"{pool}/members/{ids[name]}"

    def add(name: str) -> None:
        r = api.change("post", f"{pool}/members", lb_id, {"member": member_body(name)})
        ids[name] = r.json()["member"]["id"]

    steps: list[tuple[str, Any]] = [
        ("w1 weight 5", lambda: api.change("put", member("w1"), lb_id,
                                           {"member": {"weight": 5}})),
        ("w2 weight 3", lambda: api.change("put", member("w2"), lb_id,
                                           {"member": {"weight": 3}})),
        ("pool LEAST_CONNECTIONS", lambda: api.change("put", pool, lb_id,
                                                      {"pool": {"lb_algorithm":
                                                                "LEAST_CONNECTIONS"}})),
        ("add w4", lambda: add("w4")),
        ("w3 weight 2", lambda: api.change("put", member("w3"), lb_id,
                                           {"member": {"weight": 2}})),
        ("pool description", lambda: api.change("put", pool, lb_id,
                                                {"pool": {"description": "step 6"}})),
        ("w4 weight 4", lambda: api.change("put", member("w4"), lb_id,
                                           {"member": {"weight": 4}})),
        ("w1 disabled", lambda: api.change("put", member("w1"), lb_id,
                                           {"member": {"admin_state_up": False}})),
        ("w1 enabled", lambda: api.change("put", member("w1"), lb_id,
                                          {"member": {"admin_state_up": True}})),
        ("pool ROUND_ROBIN", lambda: api.change("put", pool, lb_id,
                                                {"pool": {"lb_algorithm": "ROUND_ROBIN"}})),
        ("remove w4", lambda: api.change("delete", member("w4"), lb_id)),
        ("w2 weight 1", lambda: api.change("put", member("w2"), lb_id,
                                           {"member": {"weight": 1}})),
        ("pool renamed", lambda: api.change("put", pool, lb_id,
                                            {"pool": {"name": "reload-pool-2"}})),
        ("add w4 again", lambda: add("w4")),
        ("w4 weight 2", lambda: api.change("put", member("w4"), lb_id,
                                           {"member": {"weight": 2}})),
        ("w3 drained (weight 0)", lambda: api.change("put", member("w3"), lb_id,
                                                     {"member": {"weight": 0}})),
        ("w3 weight 1", lambda: api.change("put", member("w3"), lb_id,
                                           {"member": {"weight": 1}})),
        ("batch update: w1 w2 w3 (w4 removed)", lambda: api.change(
            "put", f"{pool}/members", lb_id,
            {"members": [member_body("w1", weight=1), member_body("w2", weight=1),
                         member_body("w3", weight=1)]})),
        ("listener connection limit", lambda: api.change(
            "put", f"/listeners/{lb['listeners'][0]['id']}", lb_id,
            {"listener": {"connection_limit": 5000}})),
        ("pool description again", lambda: api.change("put", pool, lb_id,
                                                      {"pool": {"description": "done"}})),
    ]
    change_times: list[float] = []
    with load(env.client, vip, env.tmp / "reload.stop", interval=0.04, min_requests=200,
              max_seconds=45, per_conn=20) as result:
        began = time.monotonic()
        for _name, step in steps:
            t0 = time.monotonic()
            step()
            change_times.append(time.monotonic() - t0)
        changes_took = time.monotonic() - began
    outcome = result[0]
    note("reload: 20 changes applied (each waited ACTIVE)", changes_took)
    note("reload: slowest change", max(change_times))
    print(f"[faults] reload: load {outcome.summary()}", flush=True)

    assert outcome.failed == 0, outcome.errors
    assert outcome.ok >= 400
    assert outcome.kinds["keepalive"]["reused"] > 100  # really over keep-alive connections
    assert len(change_times) == 20
    assert outcome.seconds >= changes_took  # the load covered every change
    assert set(env.members(pool_id)) == {"w1", "w2", "w3"}
    assert not pending_statuses(api.status_tree(lb_id))
    env.wait_serving(vip, ["w1", "w2", "w3"])


# -- haproxy killed --------------------------------------------------------------------------------


@pytest.mark.parametrize("victim", ["master", "worker"])
def test_killed_haproxy_is_restarted_and_reported(fresh: Env, victim: str) -> None:
    env = fresh
    lb = env.create_lb(f"kill-{victim}", ["w1", "w2"])
    lb_id, vip = lb["id"], lb["vip_address"]
    pool_id = lb["pools"][0]["id"]
    eventually(lambda: all(m["operating_status"] == "ONLINE"
                           for m in env.members(pool_id).values()), 20, "members ONLINE")
    haproxy = env.aio.haproxy(lb_id)
    before = haproxy.proc_info()
    assert before is not None and before.workers
    old_pids = {before.master_pid, *(pid for pid, _ in before.workers)}
    target = before.master_pid if victim == "master" else before.workers[0][0]

    os.kill(target, signal.SIGKILL)
    killed = time.monotonic()

    def restarted() -> bool:
        info = haproxy.proc_info()
        return info is not None and bool(info.workers) and info.master_pid not in old_pids

    eventually(restarted, 20, f"a new haproxy master after killing the {victim}", interval=0.05)
    note(f"kill {victim}: new haproxy running", time.monotonic() - killed)
    env.wait_serving(vip, ["w1", "w2"], timeout=15)
    note(f"kill {victim}: traffic back", time.monotonic() - killed)
    assert not any(_alive(pid) for pid in old_pids), "a process of the killed haproxy survived"

    def reported() -> bool:
        got = env.api.lb(lb_id)
        members = env.members(pool_id).values()
        return (got["provisioning_status"] == "ACTIVE" and got["operating_status"] == "ONLINE"
                and all(m["operating_status"] == "ONLINE" for m in members))

    eventually(reported, 20, "the API to show ACTIVE/ONLINE again")
    note(f"kill {victim}: API ACTIVE/ONLINE", time.monotonic() - killed)
    assert haproxy_in_its_namespace(env.aio, lb_id)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


# -- namespace deleted ----------------------------------------------------------------------------


def test_namespace_deleted_by_hand_is_rebuilt(fresh: Env) -> None:
    env = fresh
    lb = env.create_lb("netns", ["w1", "w2"])
    lb_id, vip = lb["id"], lb["vip_address"]
    assert haproxy_in_its_namespace(env.aio, lb_id)
    before = env.aio.haproxy(lb_id).proc_info()
    assert before is not None

    subprocess.run(["ip", "netns", "del", NS_PREFIX + lb_id], check=True, timeout=10)
    deleted = time.monotonic()

    eventually(lambda: haproxy_in_its_namespace(env.aio, lb_id), 30,
               "haproxy running inside a rebuilt qlbaas- namespace", interval=0.1)
    note("netns deleted: haproxy back in its namespace", time.monotonic() - deleted)
    env.wait_serving(vip, ["w1", "w2"], timeout=15)
    note("netns deleted: traffic served from the new namespace", time.monotonic() - deleted)
    assert not _alive(before.master_pid), "the haproxy of the deleted namespace survived"
    got = env.api.lb(lb_id)
    assert (got["provisioning_status"], got["operating_status"]) == ("ACTIVE", "ONLINE")
