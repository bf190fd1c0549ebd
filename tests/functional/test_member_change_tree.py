"""The member change a cast carries (lbaas.services.tree.member_change), applied to the tree of
the revision before (what the agent deployed), gives exactly the tree the server builds for the
current revision; and the server sends none whenever that could not hold.

Each change is made through the API on every database; the provider finishes nothing on its
own (the test closes each change, as the agent's report does), so every tree is read between
a change's commit and its close, when the agent fetches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lbaas.core.tree import LoadBalancerTree, MemberChange
from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.services.statuses import StatusCallbacks
from lbaas.services.tree import build_tree, member_change
from tests.databases import DATABASES
from tests.functional.harness import Api, api_with_completion_delay


@pytest.fixture(params=DATABASES)
def held_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Api]:
    """The noop provider would finish a change after an hour: the test closes them."""
    yield from api_with_completion_delay(request, tmp_path_factory, 3600.0)


class Lb:
    """One load balancer, its tree as the agent would hold it, and its changes."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.id = api.create_lb(wait=False)["id"]
        self.held = self.tree()
        self.close()

    def tree(self) -> LoadBalancerTree:
        with read_session(self.api.services.sessions) as session:
            lb = session.get(models.LoadBalancer, self.id)
            assert lb is not None
            return build_tree(session, lb, self.api.services.secrets)

    def change_of(self, member_id: str) -> MemberChange | None:
        with read_session(self.api.services.sessions) as session:
            return member_change(session, self.id, member_id)

    def close(self, ok: bool = True) -> None:
        """What the agent's report does."""
        assert StatusCallbacks(self.api.services.sessions).finish_changes(self.id, ok=ok)

    def call(self, method: str, path: str, body: Any = None, status: int = 200,
             admin: bool = False) -> Any:
        caller = self.api.admin if admin else self.api.member
        r = getattr(caller, method)(path, *([] if body is None else [body]))
        assert r.status_code == status, r.text
        return r.json() if r.content else None

    def other_change(self, method: str, path: str, body: Any, status: int = 201,
                     admin: bool = False) -> Any:
        """A change that is not a member's: the agent fetches its tree."""
        answer = self.call(method, path, body, status, admin)
        self.held = self.tree()
        self.close()
        return answer

    def member_step(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """A member change: the tree built from the held one and the change is the server's."""
        answer = self.call(method, path, body, status)
        member_id = (answer["member"]["id"] if answer is not None
                     else path.rsplit("/", 1)[1])
        change = self.change_of(member_id)
        assert change is not None
        now = self.tree()
        assert change.apply_to(self.held) == now
        self.held = now
        self.close()
        return answer


def test_every_member_change_builds_the_servers_tree(held_api: Api) -> None:
    lb = Lb(held_api)
    pool = lb.other_change("post", "/pools", {"pool": {
        "loadbalancer_id": lb.id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}})["pool"]
    lb.other_change("post", "/listeners", {"listener": {
        "loadbalancer_id": lb.id, "protocol": "HTTP", "protocol_port": 80,
        "default_pool_id": pool["id"]}})
    lb.other_change("post", "/healthmonitors", {"healthmonitor": {
        "pool_id": pool["id"], "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3}})
    members = f"/pools/{pool['id']}/members"
    first = lb.member_step("post", members, {"member": {
        "address": "10.0.0.41", "protocol_port": 80}}, status=201)["member"]
    second = lb.member_step("post", members, {"member": {
        "address": "10.0.0.42", "protocol_port": 80, "weight": 5}}, status=201)["member"]
    lb.member_step("put", f"{members}/{first['id']}", {"member": {
        "weight": 0, "admin_state_up": False, "backup": True}})
    lb.member_step("delete", f"{members}/{second['id']}", status=204)
    # The held tree still shows the deleted member (PENDING_DELETE): settled, it is gone.
    assert [m.id for m in lb.held.pools[0].members] == [first["id"], second["id"]]
    lb.member_step("post", members, {"member": {
        "address": "10.0.0.43", "protocol_port": 8080}}, status=201)
    assert [m.address for m in lb.tree().pools[0].members] == ["10.0.0.41", "10.0.0.43"]


def test_no_change_is_sent_when_the_member_is_not_the_whole_difference(held_api: Api) -> None:
    lb = Lb(held_api)
    pool = lb.other_change("post", "/pools", {"pool": {
        "loadbalancer_id": lb.id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}})["pool"]
    members = f"/pools/{pool['id']}/members"
    kept = lb.member_step("post", members, {"member": {
        "address": "10.0.0.41", "protocol_port": 80}}, status=201)["member"]

    # A batch update touches several members in one revision.
    lb.call("put", members, {"members": [
        {"address": "10.0.0.41", "protocol_port": 80, "weight": 3},
        {"address": "10.0.0.44", "protocol_port": 80}]}, status=202)
    assert lb.change_of(kept["id"]) is None
    lb.close()

    # A change failed (its member stays in ERROR); a failover brought the load balancer back.
    # Only the server's tree tells what an ERROR object is now.
    added = lb.call("post", members, {"member": {
        "address": "10.0.0.45", "protocol_port": 80}}, status=201)["member"]
    lb.close(ok=False)
    lb.other_change("put", f"/loadbalancers/{lb.id}/failover", {}, status=202,
                    admin=True)
    lb.call("put", f"{members}/{kept['id']}", {"member": {"weight": 2}})
    assert lb.change_of(kept["id"]) is None
    lb.held = lb.tree()
    lb.close()
    # A change to the member in ERROR itself is the whole difference again.
    lb.member_step("put", f"{members}/{added['id']}", {"member": {"weight": 4}})
