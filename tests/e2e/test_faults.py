"""Fault tests against the real all-in-one (``lbaas up`` as a subprocess, SQLite, in-process
messaging, real haproxy in ``qlbaas-`` namespaces on a lab bridge, backends and a client in lab
namespaces):

* reloads under a stream of API changes fail no request (fresh and keep-alive connections);
* a haproxy killed with SIGKILL (master or worker) is restarted by the agent and traffic and the
  API status come back;
* a load balancer namespace deleted by hand is rebuilt, with haproxy running inside it again;
* the server stopped with SIGTERM and started again: traffic never stops, nothing is rebuilt,
  and a later change is applied;
* ``lbaas up`` killed with SIGKILL in the middle of a burst of changes: haproxy keeps serving
  while it is down, and after a restart every load balancer converges to what the API asked for,
  nothing left PENDING_*;
* the same, with the agent killed exactly between installing a new haproxy.cfg and reloading
  haproxy (held there by a stopped haproxy worker): the restarted agent still reloads it;
* a state_path whose haproxy socket paths would be 98-107 bytes long still works.

Every wait is bounded; the module fixture removes every load balancer, stops the process and
checks that no namespace, link or haproxy of this run survives.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.drivers.interface.vip_plug import NS_PREFIX
from tests.e2e.faults import (
    BACKEND_OCTETS,
    CLIENT_OCTET,
    GATEWAY,
    NETWORK,
    SUBNET,
    VIP_POOL,
    AllInOne,
    Api,
    backend_address,
    body_of,
    eventually,
    haproxy_in_its_namespace,
    lb_body,
    leftovers,
    load,
    member_body,
    pending_in_database,
    pending_statuses,
    write_config,
)
from tests.netlab import Host, Lab

TIMINGS: dict[str, float] = {}


def note(name: str, seconds: float) -> None:
    TIMINGS[name] = round(seconds, 2)
    print(f"[faults] {name}: {seconds:.2f}s", flush=True)


@dataclass
class Env:
    aio: AllInOne
    lab: Lab
    client: Host
    subnet_id: str
    tmp: Path
    lb_ids: set[str] = field(default_factory=set)

    @property
    def api(self) -> Api:
        assert self.aio.api is not None
        return self.aio.api

    def post_lb(self, name: str, members: list[str]) -> dict[str, Any]:
        r = self.api.post("/loadbalancers", lb_body(name, self.subnet_id, members))
        assert r.status_code == 201, r.text
        lb: dict[str, Any] = r.json()["loadbalancer"]
        self.lb_ids.add(lb["id"])
        return lb

    def create_lb(self, name: str, members: list[str]) -> dict[str, Any]:
        """Create a load balancer over ``members`` and wait until every member answers."""
        lb = self.post_lb(name, members)
        lb = self.api.wait_active(lb["id"], 60)
        self.wait_serving(lb["vip_address"], members)
        return lb

    def answers(self, vip: str, count: int) -> list[str]:
        return [self.client.http_get(vip, 80, timeout=3).strip() for _ in range(count)]

    def serving(self, vip: str, members: list[str]) -> bool:
        wanted = {body_of(m) for m in members}
        return set(self.answers(vip, 2 * len(members) + 2)) == wanted

    def wait_serving(self, vip: str, members: list[str], timeout: float = 30) -> None:
        eventually(lambda: self.serving(vip, members), timeout,
                   f"{vip} to answer from exactly {members}", interval=0.2)

    def members(self, pool_id: str) -> dict[str, dict[str, Any]]:
        r = self.api.get(f"/pools/{pool_id}/members")
        r.raise_for_status()
        return {m["name"]: m for m in r.json()["members"]}

    def delete_lbs(self, timeout: float = 60) -> None:
        """Cascade-delete every load balancer and wait until the API has none left."""
        for lb in self.api.get("/loadbalancers").json()["loadbalancers"]:
            self.api.delete(f"/loadbalancers/{lb['id']}?cascade=true")
        eventually(lambda: not self.api.get("/loadbalancers").json()["loadbalancers"], timeout,
                   "every load balancer to be deleted", interval=0.2)

    def no_pending_anywhere(self) -> list[str]:
        found: list[str] = []
        for lb in self.api.get("/loadbalancers").json()["loadbalancers"]:
            found += pending_statuses(self.api.status_tree(lb["id"]), lb["name"])
        return found


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("faults")
    # The state directory must be short: haproxy refuses socket paths over 97 bytes (see
    # test_deep_state_path_sockets_are_accepted_by_haproxy).
    short = Path(tempfile.mkdtemp(prefix="lbf", dir="/tmp"))
    lab = Lab()
    aio: AllInOne | None = None
    built: Env | None = None
    try:
        bridge = lab.bridge("br")
        for name, octet in BACKEND_OCTETS.items():
            lab.host(name, bridge, f"10.243.0.{octet}/24").http_server(body_of(name))
        client = lab.host("cl", bridge, f"10.243.0.{CLIENT_OCTET}/24")
        aio = AllInOne(short / "state", write_config(tmp / "lbaas.conf", bridge))
        note("lbaas up: first start", aio.start())
        assert aio.api is not None
        r = aio.api.post("/v2.0/networks", {"network": {"name": NETWORK, "shared": True}})
        assert r.status_code == 201, r.text
        r = aio.api.post("/v2.0/subnets", {"subnet": {
            "network_id": r.json()["network"]["id"], "name": f"{NETWORK}-subnet", "cidr": SUBNET,
            "ip_version": 4, "gateway_ip": GATEWAY, "allocation_pools": [VIP_POOL]}})
        assert r.status_code == 201, r.text
        built = Env(aio=aio, lab=lab, client=client, subnet_id=r.json()["subnet"]["id"], tmp=tmp)
        yield built
    finally:
        try:
            _teardown(aio, built, lab)
        finally:
            if aio is not None and aio.log.exists():
                shutil.copy(aio.log, tmp / "lbaas-up.out")
                with contextlib.suppress(FileNotFoundError):
                    shutil.copy(aio.state_path / "lbaas.log", tmp / "lbaas.log")
            shutil.rmtree(short, ignore_errors=True)


def _teardown(aio: AllInOne | None, built: Env | None, lab: Lab) -> None:
    problems: list[str] = []
    try:
        if aio is not None:
            if built is not None and aio.proc is not None and aio.proc.poll() is None:
                try:
                    built.delete_lbs()
                except Exception as exc:
                    problems.append(f"deleting load balancers: {exc}")
            aio.stop()
            ours = (built.lb_ids if built else set()) | _state_dirs(aio)
            # 'lbaas down' only when something of ours is left: it also deletes the host-wide
            # demo bridge and backends, which a concurrent 'lbaas up --demo' may be using.
            if leftovers(ours) or aio.haproxy_pids() or _state_dirs(aio):
                down = aio.down()
                if down.returncode != 0:
                    problems.append(f"lbaas down failed: {down.stderr[-2000:]}")
            for pid in aio.haproxy_pids():
                problems.append(f"haproxy {pid} of this run survived")
                os.kill(pid, signal.SIGKILL)
            if left := leftovers(ours):
                problems.append(f"left behind: {left}")
    finally:
        lab.close()
    assert not problems, problems


def _state_dirs(aio: AllInOne) -> set[str]:
    try:
        return {p.name for p in (aio.state_path / "lbaas").iterdir() if p.is_dir()}
    except FileNotFoundError:
        return set()


def _lbaas_log(aio: AllInOne) -> str:
    try:
        return (aio.state_path / "lbaas.log").read_text(errors="replace")
    except FileNotFoundError:
        return ""


@pytest.fixture
def fresh(env: Env) -> Iterator[Env]:
    """The environment (``lbaas up`` started again if a failed test left it stopped), with
    every load balancer a test made deleted after it."""
    if env.aio.proc is None or env.aio.proc.poll() is not None:
        env.aio.start()
    yield env
    if env.aio.proc is not None and env.aio.proc.poll() is None:
        env.delete_lbs()


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
        pool_id = api.status_tree(lbs[name]["id"])["pools"][0]["id"]
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
