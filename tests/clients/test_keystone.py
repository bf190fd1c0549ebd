"""``[api] auth_strategy = keystone`` against a real Keystone (the session's ``keystone``).

The module's API (``cloud``) is a live server configured by a file, as an operator would:
``[api] auth_strategy = keystone`` and a ``[keystone_authtoken]`` section whose service user
validates tokens, with the middleware's default in-memory token cache (300 s). Keystone's
catalog names it as the ``load-balancer`` service (and, for the subnet look-ups of
``openstack loadbalancer create``, as ``network``; for ``openstack secret ...``, as
``key-manager`` at ``<url>/key-manager``), so the ``openstack`` CLI finds it from
``OS_AUTH_URL`` alone. Users: a member of project A (alice), a member of project B (bob), a
reader of A (rita), an admin (boss); names carry a suffix of their own, as the Keystone is shared.

The revocation tests use a second, in-process API on the same Keystone with
``token_cache_time = -1`` (``strict``): every request is validated by Keystone, so a revoked
token is refused at once. With the cache on, a revoked token keeps working until its cache entry
expires (``test_cached_token_outlives_its_revocation``): that is the trade-off between one
Keystone call per request and revocation taking up to ``token_cache_time`` to apply.

Expiry needs a Keystone of its own whose tokens live ``TOKEN_LIFETIME`` seconds (the test waits
until Keystone itself calls the token expired: no sleep of a guessed length); an unreachable
Keystone needs none at all (a port nothing listens on).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openstack.connection
import pytest
from fastapi.testclient import TestClient

from lbaas.api.app import build_services, create_app
from lbaas.config import load_config
from lbaas.services.secret_cipher import ensure_key_file
from tests.browser import Browser, browser_available
from tests.clients.conftest import LiveApi, live_api
from tests.clients.osc import OPENSTACK, Cli
from tests.functional.harness import Api, build_api, close_api, wait_for
from tests.keystone_server import KeystoneServer, Project, User, peers_available

pytestmark = pytest.mark.skipif(not OPENSTACK.exists(),
                                reason=f"python-openstackclient not installed ({OPENSTACK})")


@dataclass
class Cloud:
    """Keystone, the users, and the lbaas API that trusts that Keystone."""

    keystone: KeystoneServer
    live: LiveApi
    project_a: Project
    project_b: Project
    alice: User
    bob: User
    rita: User
    boss: User
    service: User

    @property
    def api(self) -> Api:
        return self.live.api

    def callers(self) -> dict[str, tuple[str, str]]:
        """Fresh Keystone tokens of the four harness callers (for ``build_api``)."""
        ks = self.keystone
        return {"admin": (ks.issue_token(self.boss), self.boss.project.id),
                "member": (ks.issue_token(self.alice), self.project_a.id),
                "other": (ks.issue_token(self.bob), self.project_b.id),
                "reader": (ks.issue_token(self.rita), self.project_a.id)}


def write_config(path: Path, keystone: KeystoneServer, service: User,
                 token_cache_time: int) -> Path:
    """An lbaas configuration file for Keystone authentication."""
    options = keystone.authtoken_options(service, token_cache_time=token_cache_time)
    lines = ["[api]", "auth_strategy = keystone", "", "[keystone_authtoken]",
             *(f"{name} = {value}" for name, value in options.items())]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def cloud(keystone: KeystoneServer, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Cloud]:
    suffix = uuid.uuid4().hex[:8]
    project_a = keystone.create_project(f"lb-a-{suffix}")
    project_b = keystone.create_project(f"lb-b-{suffix}")
    admin_project = keystone.project("admin")
    service = keystone.create_service_user(f"lbaas-{suffix}")
    made = Cloud(keystone, None,  # type: ignore[arg-type]  # the live API comes next
                 project_a, project_b,
                 alice=keystone.create_user(f"alice-{suffix}", project_a, ["member"]),
                 bob=keystone.create_user(f"bob-{suffix}", project_b, ["member"]),
                 rita=keystone.create_user(f"rita-{suffix}", project_a, ["reader"]),
                 boss=keystone.create_user(f"boss-{suffix}", admin_project, ["admin"]),
                 service=service)
    state = tmp_path_factory.mktemp("keystone-live")
    conf = write_config(state / "lbaas.conf", keystone, service, token_cache_time=300)
    with live_api(state, config_files=[str(conf)], callers=made.callers()) as live:
        keystone.register_load_balancer(live.url)
        keystone.register_service("network", live.url, "neutron")
        keystone.register_key_manager(live.url)
        made.live = live
        yield made


@pytest.fixture(scope="module")
def strict(cloud: Cloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An in-process API on the same Keystone whose middleware caches no token."""
    state = tmp_path_factory.mktemp("keystone-strict")
    conf = write_config(state / "lbaas.conf", cloud.keystone, cloud.service,
                        token_cache_time=-1)
    api = build_api(str(state), config_files=[str(conf)], callers=cloud.callers())
    try:
        yield api
    finally:
        close_api(api)


def osc(cloud: Cloud, user: User, cli_environ: dict[str, str]) -> Cli:
    """``openstack`` with password authentication of ``user``: no endpoint, only the catalog."""
    return Cli({**cli_environ, **user.openstack_environ(cloud.keystone.auth_url)})


def test_member_works_through_the_catalog(cloud: Cloud, cli_environ: dict[str, str]) -> None:
    """(a) A member of project A creates, lists and shows with the ``openstack`` CLI."""
    alice = osc(cloud, cloud.alice, cli_environ)
    lb = alice.json("loadbalancer", "create", "--name", "ks-lb", "--vip-subnet-id",
                    cloud.api.subnet_id, "--wait")
    assert (lb["name"], lb["provisioning_status"]) == ("ks-lb", "ACTIVE")
    assert lb["project_id"] == cloud.project_a.id
    listed, shown = alice.json_many(("loadbalancer", "list"), ("loadbalancer", "show", "ks-lb"))
    assert [(x["id"], x["name"]) for x in listed] == [(lb["id"], "ks-lb")]
    assert (shown["id"], shown["project_id"]) == (lb["id"], cloud.project_a.id)


def test_other_project_sees_nothing(cloud: Cloud) -> None:
    """(b) Project B's member is refused A's load balancer (403, as Octavia answers: its policy
    checks the object's own project) and does not list it; an id that exists nowhere is 404."""
    lb = cloud.api.create_lb(cloud.api.member, name="a-only")
    bob = cloud.api.other
    r = bob.get(f"/loadbalancers/{lb['id']}")
    assert r.status_code == 403, r.text
    assert bob.put(f"/loadbalancers/{lb['id']}", {"loadbalancer": {"name": "x"}}
                   ).status_code == 403
    assert bob.get(f"/loadbalancers/{uuid.uuid4()}").status_code == 404
    assert lb["id"] not in [x["id"] for x in bob.get("/loadbalancers").json()["loadbalancers"]]
    assert lb["id"] in [x["id"] for x in
                        cloud.api.member.get("/loadbalancers").json()["loadbalancers"]]


def test_reader_reads_but_does_not_write(cloud: Cloud) -> None:
    """(c) A ``reader`` of project A: 200 on reads, 403 on writes."""
    lb = cloud.api.create_lb(cloud.api.member, name="read-me")
    rita = cloud.api.reader
    assert rita.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]["name"] == "read-me"
    assert lb["id"] in [x["id"] for x in rita.get("/loadbalancers").json()["loadbalancers"]]
    r = rita.put(f"/loadbalancers/{lb['id']}", {"loadbalancer": {"name": "x"}})
    assert r.status_code == 403
    assert "os_load-balancer_api:loadbalancer:put" in r.json()["faultstring"]
    assert rita.post("/loadbalancers", {"loadbalancer": {
        "vip_subnet_id": cloud.api.subnet_id}}).status_code == 403
    assert rita.delete(f"/loadbalancers/{lb['id']}").status_code == 403


def test_admin_sees_every_project(cloud: Cloud) -> None:
    """(e) The ``admin`` role lists and reads every project's load balancers."""
    mine = cloud.api.create_lb(cloud.api.member, name="of-a")
    theirs = cloud.api.create_lb(cloud.api.other, name="of-b")
    admin = cloud.api.admin
    listed = {x["id"]: x["project_id"]
              for x in admin.get("/loadbalancers").json()["loadbalancers"]}
    assert listed[mine["id"]] == cloud.project_a.id
    assert listed[theirs["id"]] == cloud.project_b.id
    assert admin.get(f"/loadbalancers/{theirs['id']}").status_code == 200
    only_b = admin.get(f"/loadbalancers?project_id={cloud.project_b.id}").json()
    assert {x["project_id"] for x in only_b["loadbalancers"]} == {cloud.project_b.id}


def test_metrics_answer_a_keystone_admin_not_a_member(cloud: Cloud) -> None:
    """The API server's /metrics (every project's ids) with Keystone tokens: the ``admin`` role
    reads it, a member of project A gets 403 without project B's id."""
    theirs = cloud.api.create_lb(cloud.api.other, name="metrics-of-b")
    client = cloud.api.client
    admin = client.get("/metrics", headers={"X-Auth-Token": cloud.api.admin.token})
    assert admin.status_code == 200 and theirs["id"] in admin.text
    assert f'project_id="{cloud.project_b.id}"' in admin.text
    member = client.get("/metrics", headers={"X-Auth-Token": cloud.api.member.token})
    assert member.status_code == 403
    assert cloud.project_b.id not in member.text and theirs["id"] not in member.text


def assert_fault_401(response: httpx.Response) -> None:
    """A 401 with Octavia's fault body, naming Keystone as where to authenticate."""
    body = response.json()
    assert response.status_code == 401, body
    assert body["faultcode"] == "Client"
    assert "authentication" in body["faultstring"].lower()
    assert body["debuginfo"] is None
    assert response.headers["WWW-Authenticate"].startswith('Keystone uri="http://127.0.0.1:')


def test_missing_and_invalid_tokens_are_401(strict: Api) -> None:
    """(d) No token, a garbage token, and a token with one character changed: 401."""
    c = strict.client
    assert_fault_401(c.get("/v2/lbaas/loadbalancers"))
    assert_fault_401(c.get("/v2/lbaas/loadbalancers", headers={"X-Auth-Token": "garbage"}))
    token = strict.member.token
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert_fault_401(c.get("/v2/lbaas/loadbalancers", headers={"X-Auth-Token": forged}))
    assert c.get("/v2/lbaas/loadbalancers", headers={"X-Auth-Token": token}).status_code == 200
    # Identity headers a client sends are not believed.
    spoofed = {"X-Auth-Token": "garbage", "X-Identity-Status": "Confirmed", "X-Roles": "admin",
               "X-Project-Id": "victim", "X-User-Name": "admin"}
    assert_fault_401(c.get("/v2/lbaas/loadbalancers", headers=spoofed))
    as_admin = c.post("/v2.0/networks", json={"network": {"name": "mine"}},
                      headers={**spoofed, "X-Auth-Token": token})
    assert as_admin.status_code == 403, as_admin.text  # the member's roles, not X-Roles


def test_revoked_token_is_401(strict: Api, cloud: Cloud) -> None:
    """(d) A token revoked in Keystone is refused at once (no token cache)."""
    token = cloud.keystone.issue_token(cloud.alice)
    headers = {"X-Auth-Token": token}
    assert strict.client.get("/v2/lbaas/loadbalancers", headers=headers).status_code == 200
    cloud.keystone.revoke_token(token)
    assert_fault_401(strict.client.get("/v2/lbaas/loadbalancers", headers=headers))


def test_cached_token_outlives_its_revocation(cloud: Cloud) -> None:
    """The trade-off of ``token_cache_time``: the cached token still works after revocation
    (until its entry expires, 300 s here), while a token never seen before is checked."""
    token = cloud.keystone.issue_token(cloud.alice)
    with cloud.live.http(token) as http:
        assert http.get("/v2/lbaas/loadbalancers").status_code == 200
        cloud.keystone.revoke_token(token)
        assert not cloud.keystone.token_is_valid(token)
        assert http.get("/v2/lbaas/loadbalancers").status_code == 200
    unseen = cloud.keystone.issue_token(cloud.alice)
    cloud.keystone.revoke_token(unseen)
    with cloud.live.http(unseen) as http:
        assert_fault_401(http.get("/v2/lbaas/loadbalancers"))


TOKEN_LIFETIME = 20
"""``[token] expiration`` of the short-lived Keystone (seconds): long enough for one request to
be validated, short enough to wait for."""


def test_expired_token_is_401(tmp_path: Path) -> None:
    """(d) A token past its expiry is refused, even though the middleware cached it when it was
    valid: a second Keystone issues tokens that live ``TOKEN_LIFETIME`` seconds."""
    if not peers_available():
        pytest.skip("Keystone is not installed in tests/peers/.venv (make python-deps)")
    with KeystoneServer(token_expiration=TOKEN_LIFETIME) as keystone:
        project = keystone.create_project("short-lived")
        member = keystone.create_user("member", project, ["member"])
        service = keystone.create_service_user()
        conf = write_config(tmp_path / "lbaas.conf", keystone, service, token_cache_time=300)
        admin = (keystone.issue_token(), keystone.project("admin").id)
        api = build_api(str(tmp_path / "state"), config_files=[str(conf)], callers={
            name: admin for name in ("admin", "member", "other", "reader")})
        try:
            token = keystone.issue_token(member)
            headers = {"X-Auth-Token": token}
            assert api.client.get("/v2/lbaas/loadbalancers", headers=headers).status_code == 200
            wait_for(lambda: keystone.token_is_valid(token), lambda valid: not valid,
                     timeout=TOKEN_LIFETIME * 10)
            assert_fault_401(api.client.get("/v2/lbaas/loadbalancers", headers=headers))
        finally:
            close_api(api)
        workdir, pid = keystone.workdir, keystone.pid
    # The server leaves nothing behind.
    assert workdir is not None and not workdir.exists()
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_unreachable_keystone_is_503(tmp_path: Path) -> None:
    """Keystone not answering (nothing listens on its port): 503 with the fault body, not 401
    (the client's token may well be valid)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/v3"
        (tmp_path / "lbaas.conf").write_text(
            "[api]\nauth_strategy = keystone\ndefault_provider = noop\nenabled_providers = noop\n"
            f"[keystone_authtoken]\nwww_authenticate_uri = {url}\nauth_url = {url}\n"
            "auth_type = password\nusername = lbaas\npassword = unused\nproject_name = service\n"
            "user_domain_id = default\nproject_domain_id = default\n"
            "http_request_max_retries = 0\n")
        conf = load_config([str(tmp_path / "lbaas.conf")],
                           overrides={"DEFAULT": {"state_path": str(tmp_path)}})
        ensure_key_file(conf.key_manager.encryption_key_file)
        services = build_services(conf)
        try:
            with TestClient(create_app(conf, services)) as client:
                r = client.get("/v2/lbaas/loadbalancers", headers={"X-Auth-Token": "whatever"})
            assert r.status_code == 503, r.text
            assert r.json()["faultcode"] == "Server"
        finally:
            services.engine.dispose()


def test_openstacksdk_finds_the_api_in_the_catalog(cloud: Cloud, isolated_environ: Path) -> None:
    """(a) openstacksdk with password auth: the ``load-balancer`` endpoint (the server's root)
    from the catalog, version discovery there, then ``/v2/lbaas/...``."""
    lb = cloud.api.create_lb(cloud.api.member, name="seen-by-sdk")
    user = cloud.alice
    conn = openstack.connection.Connection(
        auth_type="password", region_name="RegionOne", interface="public",
        auth={"auth_url": cloud.keystone.auth_url, "username": user.name,
              "password": user.password, "project_name": user.project.name,
              "user_domain_id": "default", "project_domain_id": "default"})
    try:
        assert str(conn.load_balancer.get_endpoint()).startswith(cloud.live.url)
        found = conn.load_balancer.get_load_balancer(lb["id"])
        assert (found.id, found.name, found.project_id) == (lb["id"], "seen-by-sdk",
                                                            cloud.project_a.id)
        assert lb["id"] in [x.id for x in conn.load_balancer.load_balancers()]
    finally:
        conn.close()


def test_secret_store_through_the_catalog(cloud: Cloud, cli_environ: dict[str, str]) -> None:
    """``openstack secret ...`` with password auth: the ``key-manager`` endpoint from the
    catalog, version discovery there (v1), Keystone's token; the creator is the user, another
    project's member gets Not Found, a reader (Barbican's default) Forbidden."""
    alice = osc(cloud, cloud.alice, cli_environ)
    stored = alice.json("secret", "store", "--name", "ks-secret", "-t", "text/plain",
                        "--payload", "through keystone")
    ref = stored["Secret href"]
    assert ref.startswith(f"{cloud.live.url}/key-manager/v1/secrets/")
    assert alice.json("secret", "get", "--payload", ref)["Payload"] == "through keystone"
    with cloud.live.http(cloud.keystone.issue_token(cloud.alice)) as http:
        meta = http.get(f"/key-manager/v1/secrets/{ref.rsplit('/', 1)[1]}").json()
    assert meta["creator_id"] == cloud.alice.id
    assert ref in [s["Secret href"] for s in alice.json("secret", "list")]
    bob = osc(cloud, cloud.bob, cli_environ).run("secret", "get", ref, check=False)
    assert bob.returncode != 0 and "Secret not found" in bob.stderr
    rita = osc(cloud, cloud.rita, cli_environ).run("secret", "get", "--payload", ref,
                                                   check=False)
    assert rita.returncode != 0 and "Forbidden" in rita.stderr
    alice.run("secret", "delete", ref)


def test_dashboard_signs_in_with_keystone_credentials(cloud: Cloud) -> None:
    """The dashboard's password sign-in: the server asks Keystone for a project-scoped token,
    which then works for the page's API calls with the user's own project and roles; wrong
    credentials are a 401 that says so, with no Basic challenge (the page's own call)."""
    alice = cloud.alice
    with cloud.live.http(None) as http:
        config = http.get("/dashboard/api/config").json()
        assert (config["auth_strategy"], config["keystone_sign_in"]) == ("keystone", True)
        signed = http.post("/dashboard/api/login", json={
            "username": alice.name, "password": alice.password,
            "project_name": alice.project.name})
        assert signed.status_code == 200, signed.text
        body = signed.json()
        assert (body["project_id"], body["project_name"]) == (cloud.project_a.id,
                                                              cloud.project_a.name)
        assert "member" in body["roles"] and body["expires_at"]
        assert alice.password not in signed.text
        session = http.get("/dashboard/api/session", headers={"X-Auth-Token": body["token"]})
        assert session.status_code == 200
        assert (session.json()["project_id"], session.json()["can"]["create_loadbalancer"]) == (
            cloud.project_a.id, True)
        listed = http.get("/v2/lbaas/loadbalancers", headers={"X-Auth-Token": body["token"]})
        assert listed.status_code == 200
        assert {lb["project_id"] for lb in listed.json()["loadbalancers"]} <= {cloud.project_a.id}

        wrong = http.post("/dashboard/api/login", headers={"X-Requested-With": "XMLHttpRequest"},
                          json={"username": alice.name, "password": "not-" + alice.password,
                                "project_name": alice.project.name})
        assert wrong.status_code == 401 and "www-authenticate" not in wrong.headers
        assert "refused these credentials" in wrong.json()["faultstring"]
        rita = http.post("/dashboard/api/login", json={
            "username": cloud.rita.name, "password": cloud.rita.password,
            "project_name": cloud.rita.project.name}).json()
        reader = http.get("/dashboard/api/session", headers={"X-Auth-Token": rita["token"]})
        assert reader.json()["can"]["create_loadbalancer"] is False


@pytest.mark.skipif(not browser_available(), reason="chromium or chromium-driver missing")
def test_dashboard_keystone_form_in_a_browser(cloud: Cloud) -> None:
    """The sign-in page offers Keystone credentials on a Keystone server; alice signs in with
    her password and sees her project's load balancers and not project B's."""
    mine = cloud.api.create_lb(cloud.api.member, name="dash-of-a")
    theirs = cloud.api.create_lb(cloud.api.other, name="dash-of-b")
    with Browser(cloud.live.url) as b:
        b.open("/signin")
        form = b.find("[data-test=keystone-form]")
        b.type("[name=username]", cloud.alice.name, within=form)
        b.type("[name=password]", "wrong-" + cloud.alice.password, within=form)
        b.type("[name=project_name]", cloud.project_a.name, within=form)
        b.click("[data-test=keystone-submit]")
        assert "refused these credentials" in b.find("[data-test=signin-error]").text
        b.type("[name=password]", cloud.alice.password, within=form)
        b.click("[data-test=keystone-submit]")
        b.wait_for(f"[data-test=lb-row][data-id='{mine['id']}']")
        assert cloud.project_a.id in b.find("[data-test=who-project]").text
        assert not b.find_all(f"[data-test=lb-row][data-id='{theirs['id']}']")
        assert b.script_errors() == []
