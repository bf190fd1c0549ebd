"""Fault tests of restarts against the real all-in-one (``lbaas up`` as a subprocess, SQLite,
in-process messaging, real haproxy in ``qlbaas-`` namespaces on a lab bridge, backends and a
client in lab namespaces):

* the server stopped with SIGTERM and started again: traffic never stops, nothing is rebuilt,
  and a later change is applied;
* ``lbaas up`` killed with SIGKILL in the middle of a burst of changes: haproxy keeps serving
  while it is down, and after a restart every load balancer converges to what the API asked for,
  nothing left PENDING_*;
* the same, with the agent killed exactly between installing a new haproxy.cfg and reloading
  haproxy (held there by a stopped haproxy worker): the restarted agent still reloads it;
* a state_path whose haproxy socket paths would be 98-107 bytes long still works.

Every wait is bounded; the module fixture ``env`` (tests/e2e/faults_aio.py) removes every load
balancer, stops the process and checks that no namespace, link or haproxy of this run survives.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest

from lbaas.drivers.haproxy.process import HaproxyProcess
from tests.e2e.faults import (
    backend_address,
    body_of,
    eventually,
    lb_body,
    member_body,
    note,
    pending_in_database,
)
from tests.e2e.faults_aio import AllInOne, Env
from tests.e2e.faults_load import load


def _lbaas_log(aio: AllInOne) -> str:
    try:
        return (aio.state_path / "lbaas.log").read_text(errors="replace")
    except FileNotFoundError:
        return ""


# -- server restart -------------------------------------------------------------------------------


def test_server_restart_keeps_serving_and_applies_later_changes(fresh: Env) -> None:
    env = fresh
    lb = env.create_lb("restart", ["w1", "w2"])
    lb_id, vip, pool_id = lb["id"], lb["vip_address"], lb["pools"][0]["id"]
    before = env.aio.haproxy(lb_id).proc_info()
    assert before is not None

    with load(env.client, vip, env.tmp / "restart.stop", interval=0.05, min_requests=60,
              max_seconds=60) as result:
        t0 = time.monotonic()
        # uvicorn re-raises the signal once it has shut down cleanly: -SIGTERM is success.
        assert env.aio.terminate() in (0, -signal.SIGTERM), env.aio.tail()
        assert "Application shutdown complete" in _lbaas_log(env.aio)
        note("restart: lbaas up stopped on SIGTERM", time.monotonic() - t0)
        assert env.aio.haproxy(lb_id).is_running()  # load balancers outlive the server
        time.sleep(1.0)
        note("restart: lbaas up started again", env.aio.start())
        got = env.api.lb(lb_id)
        assert got["provisioning_status"] == "ACTIVE"
        time.sleep(1.5)  # the agent's first sync has run: it must not have disturbed anything
    outcome = result[0]
    print(f"[faults] restart: load {outcome.summary()}", flush=True)
    assert outcome.failed == 0, outcome.errors
    after = env.aio.haproxy(lb_id).proc_info()
    assert after is not None and after.master_pid == before.master_pid
    assert not env.no_pending_anywhere()

    t0 = time.monotonic()
    env.api.change("post", f"/pools/{pool_id}/members", lb_id, {"member": member_body("w3")})
    env.wait_serving(vip, ["w1", "w2", "w3"])
    note("restart: change after restart applied and serving", time.monotonic() - t0)


# -- lbaas up killed mid-change --------------------------------------------------------------------


@pytest.mark.parametrize("delay", [0.0, 0.3], ids=["at-once", "after-0.3s"])
def test_sigkill_mid_changes_converges_after_restart(fresh: Env, delay: float) -> None:
    """Kill right after the API accepted the burst (nothing applied yet), or 0.3 s later (the
    agent in the middle of applying it)."""
    env = fresh
    api = env.api
    a = env.create_lb("burst-a", ["w1"])
    b = env.create_lb("burst-b", ["w1"])
    c = env.create_lb("burst-c", ["w1", "w2"])
    pools = {lb["name"]: lb["pools"][0]["id"] for lb in (a, b, c)}

    # A burst of changes to four load balancers, sent concurrently; kill at the last answer.
    wanted = {"burst-a": ["w1", "w2"], "burst-b": ["w1", "w3"], "burst-c": ["w3", "w4"],
              "burst-d": ["w2", "w4"]}
    answers: dict[str, int] = {}

    def send(name: str) -> None:
        if name == "burst-a":
            r = api.post(f"/pools/{pools[name]}/members", {"member": member_body("w2")})
        elif name == "burst-b":
            r = api.post(f"/pools/{pools[name]}/members", {"member": member_body("w3")})
        elif name == "burst-c":
            r = api.put(f"/pools/{pools[name]}/members",
                        {"members": [member_body("w3"), member_body("w4")]})
        else:
            r = api.post("/loadbalancers", lb_body(name, env.subnet_id, wanted[name]))
            if r.status_code == 201:
                env.lb_ids.add(r.json()["loadbalancer"]["id"])
        answers[name] = r.status_code

    threads = [threading.Thread(target=send, args=(name,)) for name in wanted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    time.sleep(delay)
    env.aio.kill()
    killed = time.monotonic()
    assert all(200 <= code < 300 for code in answers.values()), answers
    pending = pending_in_database(env.aio.state_path)
    print(f"[faults] sigkill +{delay}s: pending when killed: {pending}", flush=True)
    if delay == 0:
        assert any(row.startswith("load_balancers") for row in pending)  # really mid-change

    # The data plane does not depend on the agent: the existing load balancers keep serving.
    served = {name: env.answers(lb["vip_address"], 4) for name, lb in
              (("burst-a", a), ("burst-b", b), ("burst-c", c))}
    assert all(len(bodies) == 4 for bodies in served.values())
    with load(env.client, a["vip_address"], env.tmp / "kill.stop", interval=0.05,
              min_requests=30, max_seconds=20, kinds=("fresh",)) as result:
        time.sleep(1.0)
    assert result[0].failed == 0, result[0].errors

    note(f"sigkill +{delay}s: lbaas up restarted", env.aio.start())
    api = env.api  # a new admin token

    def converged() -> bool:
        lbs = {lb["name"]: lb for lb in api.get("/loadbalancers").json()["loadbalancers"]}
        if set(lbs) != set(wanted) or any(lb["provisioning_status"] != "ACTIVE"
                                          for lb in lbs.values()):
            return False
        return not env.no_pending_anywhere()

    eventually(converged, 45, "every load balancer ACTIVE with nothing PENDING_*",
               interval=0.25)
    note(f"sigkill +{delay}s: converged (all ACTIVE, nothing pending) after the kill",
         time.monotonic() - killed)
    lbs = {lb["name"]: lb for lb in api.get("/loadbalancers").json()["loadbalancers"]}
    for name, members in wanted.items():
        pool_id = lbs[name]["pools"][0]["id"]
        got = env.members(pool_id)
        assert {m: got[m]["address"] for m in got} == {m: backend_address(m) for m in members}
        env.wait_serving(lbs[name]["vip_address"], members)
    note(f"sigkill +{delay}s: every load balancer serves its wanted members",
         time.monotonic() - killed)


def test_sigkill_between_config_install_and_reload_converges(fresh: Env) -> None:
    """The agent dies after installing a new haproxy.cfg but before haproxy reloaded it. A
    stopped haproxy worker holds the agent in that window (before reloading, it saves the server
    state through the worker's stats socket). After a restart the running haproxy must be
    brought to the new configuration, not declared unchanged because the file already says so.
    """
    env = fresh
    lb = env.create_lb("window", ["w1"])
    lb_id, vip, pool_id = lb["id"], lb["vip_address"], lb["pools"][0]["id"]
    haproxy = env.aio.haproxy(lb_id)
    before = haproxy.proc_info()
    assert before is not None
    workers = [pid for pid, _ in before.workers]
    for pid in workers:
        os.kill(pid, signal.SIGSTOP)
    try:
        r = env.api.post(f"/pools/{pool_id}/members", {"member": member_body("w2")})
        assert r.status_code == 201, r.text
        member_id = r.json()["member"]["id"]
        eventually(lambda: member_id in haproxy.paths.config.read_text(), 15,
                   "the agent to install the new haproxy.cfg", interval=0.01)
        env.aio.kill()
    finally:
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    # The window was hit: the file has the new member, haproxy never reloaded.
    after = haproxy.proc_info()
    assert after is not None and [pid for pid, _ in after.workers] == workers
    assert set(env.answers(vip, 4)) == {body_of("w1")}

    note("window: lbaas up restarted", env.aio.start())
    restarted = time.monotonic()
    env.api.wait_active(lb_id)
    env.wait_serving(vip, ["w1", "w2"], timeout=20)
    note("window: new member served after the restart", time.monotonic() - restarted)


# -- a deep state path -----------------------------------------------------------------------------


def test_deep_state_path_sockets_are_accepted_by_haproxy() -> None:
    """haproxy refuses socket paths over 97 bytes: a deep state_path moves them to /run/lbaas.
    Found with pytest's default temporary directory as state_path."""
    lb_id = "973a041e-845b-4720-88d2-2be4677448ae"
    base = Path(tempfile.mkdtemp(prefix="lbf", dir="/tmp"))
    tail = len(f"/lbaas/{lb_id}/haproxy.sock")
    state = base / ("d" * (100 - tail - len(str(base)) - 1))
    proc = HaproxyProcess(lb_id, state)
    try:
        proc.ensure_directory()
        config = proc.paths.directory / "check.cfg"
        config.write_text(
            "global\n"
            f"    stats socket {proc.paths.stats_socket} mode 600 level admin expose-fd listeners\n"
            "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n"
            "    timeout server 1s\n")
        assert len(os.fsencode(state / "lbaas" / lb_id / "haproxy.sock")) == 100
        proc.validate(config)
    finally:
        proc.remove_state()
        shutil.rmtree(base, ignore_errors=True)
