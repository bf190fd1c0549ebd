"""The dashboard's forms and operator pages in a real browser (headless Chromium,
``tests/browser.py``), on the API alone: the noop provider (with a half-second completion delay,
so progress is visible), SQLite, no agent, no namespaces.

``tests/e2e/test_dashboard.py`` tells the main story over a real stack; this module checks each
form does what it says: editing a load balancer (and the API's refusal next to the field),
the members' batch edit, L7 policies and rules, deletion with its confirmation, the operator's
quota, flavor, network and problem pages, what a reader is (not) offered, and a token revoked
while signed in. Every test checks through the API that what the page did really happened."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from lbaas.api.app import create_app
from lbaas.db import models
from lbaas.db.engine import write_session
from lbaas.services.tokens import hash_secret
from tests.browser import Browser, browser_available
from tests.functional.harness import Api, Caller, build_api, close_api, wait_for
from tests.live import run_live_server

pytestmark = pytest.mark.skipif(not browser_available(),
                                reason="chromium and chromium-driver are not installed")

TOKEN_CACHE_SECONDS = 5  # lbaas.api.auth keeps a verified token this long


@dataclass
class Dashboard:
    api: Api
    url: str


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """One API (noop provider, 0.5 s per change) served on a real socket for the module."""
    api = build_api(str(tmp_path_factory.mktemp("dashboard")),
                    overrides={"noop_provider": {"completion_delay": 0.5}})
    try:
        with run_live_server(create_app(api.services.conf, api.services),
                             lifespan="off") as url:
            yield Dashboard(api, url)
    finally:
        close_api(api)


@pytest.fixture
def b(dash: Dashboard) -> Iterator[Browser]:
    with Browser(dash.url) as browser:
        yield browser


# -- helpers ---------------------------------------------------------------------------------

def eventually(check: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s (last: {value!r})")
        time.sleep(0.1)


def tree_lb(api: Api, name: str, caller: Caller | None = None) -> dict[str, Any]:
    """An ACTIVE load balancer made in one POST: HTTP listener, pool of 2 members, HTTP monitor."""
    caller = caller or api.member
    return api.create_lb(caller, name=name, listeners=[{
        "name": f"{name}-http", "protocol": "HTTP", "protocol_port": 80,
        "default_pool": {
            "name": f"{name}-web", "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [{"name": "web01", "address": "10.241.0.11", "protocol_port": 80},
                        {"name": "web02", "address": "10.241.0.12", "protocol_port": 80}],
            "healthmonitor": {"type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 2,
                              "url_path": "/"}}}])


def drop_lb(api: Api, lb_id: str) -> None:
    """Delete (cascade) if it is still there, and wait until the API no longer knows it."""
    path = f"/loadbalancers/{lb_id}"

    def gone_or_deleted() -> bool:
        r = api.admin.get(path)
        if r.status_code == 404:
            return True
        if not r.json()["loadbalancer"]["provisioning_status"].startswith("PENDING_"):
            api.admin.delete(f"{path}?cascade=true")
        return False

    eventually(gone_or_deleted, 20, f"{lb_id} deleted")


def first_pool(api: Api, lb: dict[str, Any]) -> str:
    return str(api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
               ["pools"][0]["id"])


def members_of(api: Api, pool_id: str) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in api.member.get(f"/pools/{pool_id}/members").json()["members"]}


def settled(api: Api, lb_id: str) -> bool:
    return bool(api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"]
                ["provisioning_status"] == "ACTIVE")


def open_lb(b: Browser, lb: dict[str, Any]) -> None:
    b.go(f"/loadbalancers/{lb['id']}")
    b.until(lambda: b.find("[data-test=lb-name]").text == lb["name"], 20, "lb header")
    b.wait_for("[data-test=listener]")
    b.wait_for("[data-test=pool]")


def confirm(b: Browser, answer: str = "confirm-ok") -> None:
    b.wait_for("[data-test=confirm]")
    b.click(f"[data-test={answer}]")
    b.wait_gone("[data-test=confirm]")


# -- tenant forms ----------------------------------------------------------------------------

def test_edit_renames_and_shows_the_refusal_next_to_the_field(dash: Dashboard,
                                                              b: Browser) -> None:
    api = dash.api
    lb = tree_lb(api, "edit-me")
    try:
        b.sign_in(api.member.token)
        open_lb(b, lb)
        b.click("[data-test=edit-lb]")
        b.type("[data-test=edit-lb-name]", "edited")
        b.click("[data-test=save-lb]")
        b.until(lambda: b.find("[data-test=lb-name]").text == "edited", 20, "new name shown")
        b.wait_gone("[data-test=edit-lb-form]")
        got = api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
        assert got["name"] == "edited"
        b.wait_attribute("[data-test=lb-provisioning]", "data-status", "ACTIVE".__eq__, 20)

        # The page keeps names to 255 characters; without that limit the API refuses, and its
        # faultstring lands next to the name field (the form stays open, nothing changes).
        b.click("[data-test=edit-lb]")
        b.type("[data-test=edit-lb-name]", "n" * 300)
        assert len(b.find("[data-test=edit-lb-name]").get_attribute("value")) == 255
        b.driver.execute_script("arguments[0].removeAttribute('maxlength');",
                                b.find("[data-test=edit-lb-name]"))
        b.type("[data-test=edit-lb-name]", "n" * 300)
        b.click("[data-test=save-lb]")
        error = b.find("[data-test=edit-lb-form] [data-field=name] [data-test=error-name]")
        assert error.text == "String should have at most 255 characters", error.text
        assert not b.find_all("[data-test=edit-lb-form] [data-test=error-description]"
                              ":not([hidden])")
        assert b.find("[data-test=lb-name]").text == "edited"
        got = api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"]
        assert (got["name"], got["provisioning_status"]) == ("edited", "ACTIVE")
        b.click("[data-test=cancel-edit-lb]")
        b.wait_gone("[data-test=edit-lb-form]")
        assert b.script_errors() == []
    finally:
        drop_lb(api, lb["id"])


def test_members_batch_edit_adds_reweights_and_removes_with_confirmation(
        dash: Dashboard, b: Browser) -> None:
    api = dash.api
    lb = tree_lb(api, "batch")
    pool_id = first_pool(api, lb)
    before = members_of(api, pool_id)
    try:
        b.sign_in(api.member.token)
        open_lb(b, lb)
        b.click("[data-test=pool] [data-test=batch-edit]")
        b.wait_for("[data-test=batch-form]")
        assert len(b.find_all("[data-test=batch-row]")) == 2
        b.click("[data-test=batch-add]")
        new = b.find("[data-test=batch-row][data-new=true]")
        b.type("[name=name]", "web03", within=new)
        b.type("[name=address]", "10.241.0.13", within=new)
        b.type("[name=protocol_port]", "8080", within=new)
        web01 = b.find(f"[data-test=batch-row][data-id='{before['web01']['id']}']")
        b.type("[name=weight]", "7", within=web01)
        b.click("[data-test=batch-save]")
        assert not b.find_all("[data-test=confirm]")  # nothing removed: no question

        after = wait_for(lambda: members_of(api, pool_id),
                         lambda ms: set(ms) == {"web01", "web02", "web03"}, 20)
        assert (after["web03"]["address"], after["web03"]["protocol_port"]) == (
            "10.241.0.13", 8080)
        assert (after["web01"]["weight"], after["web02"]["weight"]) == (7, 1)
        assert after["web01"]["id"] == before["web01"]["id"]  # updated, not replaced
        b.until(lambda: len(b.find_all("[data-test=member-row]")) == 3, 20, "3 member rows")
        b.wait_attribute("[data-test=member-row][data-name=web01]", "data-weight", "7".__eq__,
                         20)
        eventually(lambda: settled(api, lb["id"]), 20, "ACTIVE after the batch")

        # Removing web02: the page asks first; "Cancel" keeps it, "Save and remove" deletes it.
        b.click("[data-test=pool] [data-test=batch-edit]")
        web02 = b.find(f"[data-test=batch-row][data-id='{before['web02']['id']}']")
        b.click("[data-test=batch-remove]", within=web02)
        b.click("[data-test=batch-save]")
        confirm(b, "confirm-cancel")
        time.sleep(1)
        assert set(members_of(api, pool_id)) == {"web01", "web02", "web03"}
        b.click("[data-test=batch-save]")
        confirm(b)
        wait_for(lambda: members_of(api, pool_id), lambda ms: set(ms) == {"web01", "web03"}, 20)
        b.until(lambda: len(b.find_all("[data-test=member-row]")) == 2, 20, "2 member rows")
        assert not b.find_all("[data-test=member-row][data-name=web02]")
        assert b.script_errors() == []
    finally:
        drop_lb(api, lb["id"])


def test_l7_policy_and_rule_are_added_and_deleted(dash: Dashboard, b: Browser) -> None:
    api = dash.api
    lb = tree_lb(api, "l7")
    listener_id = api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"][
        "listeners"][0]["id"]

    def policies() -> list[dict[str, Any]]:
        return list(api.member.get(f"/l7policies?listener_id={listener_id}").json()[
            "l7policies"])

    try:
        b.sign_in(api.member.token)
        open_lb(b, lb)
        b.click("[data-test=listener] [data-test=add-l7policy]")
        b.type("[data-test=l7policy-name-input]", "block-admin")
        b.choose("[data-test=l7policy-action-input]", "REJECT")
        b.click("[data-test=save-l7policy]")
        made = wait_for(policies, lambda ps: len(ps) == 1, 20)[0]
        assert (made["name"], made["action"]) == ("block-admin", "REJECT")
        policy = "[data-test=l7policy][data-name=block-admin]"
        b.wait_attribute(policy, "data-action", "REJECT".__eq__, 20)

        eventually(lambda: settled(api, lb["id"]), 20, "ACTIVE after the policy")
        b.click(f"{policy} [data-test=add-l7rule]")
        b.choose("[data-test=l7rule-type-input]", "PATH")
        b.choose("[data-test=l7rule-compare-input]", "STARTS_WITH")
        b.type("[data-test=l7rule-value-input]", "/admin")
        b.click("[data-test=save-l7rule]")
        rules_path = f"/l7policies/{made['id']}/rules"
        rules = wait_for(lambda: api.member.get(rules_path).json()["rules"],
                         lambda rs: len(rs) == 1, 20)
        assert (rules[0]["type"], rules[0]["compare_type"], rules[0]["value"],
                rules[0]["invert"]) == ("PATH", "STARTS_WITH", "/admin", False)
        rule = f"{policy} [data-test=l7rule][data-id='{rules[0]['id']}']"
        b.wait_attribute(rule, "data-value", "/admin".__eq__, 20)
        assert b.attribute(rule, "data-compare") == "STARTS_WITH"

        eventually(lambda: settled(api, lb["id"]), 20, "ACTIVE after the rule")
        b.click(f"{rule} [data-test=delete-l7rule]")
        confirm(b)
        wait_for(lambda: api.member.get(rules_path).json()["rules"], lambda rs: rs == [], 20)
        b.wait_gone(rule)

        eventually(lambda: settled(api, lb["id"]), 20, "ACTIVE after the rule's deletion")
        b.click(f"{policy} [data-test=delete-l7policy]")
        confirm(b)
        wait_for(policies, lambda ps: ps == [], 20)
        b.wait_gone(policy)
        assert api.member.get(f"/l7policies/{made['id']}").status_code == 404
        assert b.script_errors() == []
    finally:
        drop_lb(api, lb["id"])


def test_delete_asks_shows_progress_and_ends_on_the_list(dash: Dashboard, b: Browser) -> None:
    api = dash.api
    lb = tree_lb(api, "doomed")
    try:
        b.sign_in(api.member.token)
        open_lb(b, lb)
        b.click("[data-test=delete-lb]")
        confirm(b, "confirm-cancel")
        time.sleep(1)
        got = api.member.get(f"/loadbalancers/{lb['id']}")
        assert got.json()["loadbalancer"]["provisioning_status"] == "ACTIVE"
        assert b.find("[data-test=lb-name]").text == "doomed"
        assert not b.find_all("[data-test=lb-progress]:not([hidden])")

        b.click("[data-test=delete-lb]")
        confirm(b)
        b.until(lambda: "Deleting" in b.find("[data-test=lb-progress]", timeout=5).text, 5,
                "deletion progress")
        b.wait_for("[data-test=lb-list]")
        b.until(lambda: b.find_all("[data-test=lb-empty]") or (
            b.find_all("[data-test=lb-row]") and
            not b.find_all(f"[data-test=lb-row][data-id='{lb['id']}']")), 20, "list without it")
        assert b.driver.current_url.endswith("#/loadbalancers")
        assert api.member.get(f"/loadbalancers/{lb['id']}").status_code == 404
        assert b.script_errors() == []
    finally:
        drop_lb(api, lb["id"])


# -- operator pages --------------------------------------------------------------------------

def test_operator_sets_and_resets_a_project_quota(dash: Dashboard, b: Browser) -> None:
    api = dash.api
    try:
        b.sign_in(api.admin.token)
        b.go("/admin/quotas")
        b.wait_for("[data-test=quota-defaults]")
        b.type("[data-test=quota-project]", "project-a")
        b.type("[data-test=quota-load_balancer]", "5")
        b.type("[data-test=quota-listener]", "9")
        b.click("[data-test=quota-submit]")
        row = "[data-test=quota-row][data-project=project-a]"
        b.wait_for(row)
        quota = api.admin.get("/quotas/project-a").json()["quota"]
        assert (quota["load_balancer"], quota["listener"]) == (5, 9)
        assert b.find(f"{row} [data-field=load_balancer]").text == "5"
        assert b.find(f"{row} [data-field=listener]").text == "9"

        b.click(f"{row} [data-test=quota-reset]")
        confirm(b)
        b.wait_gone(row)
        listed = api.admin.get("/quotas").json()["quotas"]
        assert "project-a" not in {q["project_id"] for q in listed}
        defaults = api.admin.get("/quotas/defaults").json()["quota"]
        quota = api.admin.get("/quotas/project-a").json()["quota"]
        assert (quota["load_balancer"], quota["listener"]) == (
            defaults["load_balancer"], defaults["listener"])
        assert b.script_errors() == []
    finally:
        api.admin.delete("/quotas/project-a")


def test_operator_creates_a_flavor_profile_and_a_flavor_and_toggles_it(
        dash: Dashboard, b: Browser) -> None:
    api = dash.api
    try:
        b.sign_in(api.admin.token)
        b.go("/admin/flavors")
        b.wait_for("[data-test=flavorprofile-form]")
        b.type("[data-test=flavorprofile-name]", "fp-browser")
        b.choose("[data-test=flavorprofile-provider]", "noop")
        b.type("[data-test=flavorprofile-data]", "{}")
        b.click("[data-test=flavorprofile-submit]")
        b.wait_for("[data-test=flavorprofile-row][data-name=fp-browser]")
        profiles = {p["name"]: p for p in api.admin.get("/flavorprofiles").json()[
            "flavorprofiles"]}
        assert profiles["fp-browser"]["provider_name"] == "noop"
        profile_id = profiles["fp-browser"]["id"]

        b.until(lambda: b.find("[data-test=flavor-profile]").get_attribute("value")
                == profile_id, 10, "new profile chosen")
        b.type("[data-test=flavor-name]", "gold")
        b.type("[data-test=flavor-description]", "from the browser")
        b.click("[data-test=flavor-submit]")
        row = "[data-test=flavor-row][data-name=gold]"
        b.wait_attribute(row, "data-enabled", "true".__eq__, 20)
        flavors = {f["name"]: f for f in api.admin.get("/flavors").json()["flavors"]}
        gold = flavors["gold"]
        assert (gold["flavor_profile_id"], gold["description"], gold["enabled"]) == (
            profile_id, "from the browser", True)

        b.click(f"{row} [data-test=flavor-toggle]")
        b.wait_attribute(row, "data-enabled", "false".__eq__, 20)
        assert api.admin.get(f"/flavors/{gold['id']}").json()["flavor"]["enabled"] is False
        b.click(f"{row} [data-test=flavor-toggle]")
        b.wait_attribute(row, "data-enabled", "true".__eq__, 20)
        assert api.admin.get(f"/flavors/{gold['id']}").json()["flavor"]["enabled"] is True

        b.click(f"{row} [data-test=flavor-delete]")
        confirm(b)
        b.wait_gone(row)
        assert api.admin.get(f"/flavors/{gold['id']}").status_code == 404
        assert b.script_errors() == []
    finally:
        for f in api.admin.get("/flavors").json()["flavors"]:
            if f["name"] == "gold":
                api.admin.delete(f"/flavors/{f['id']}")
        for p in api.admin.get("/flavorprofiles").json()["flavorprofiles"]:
            if p["name"] == "fp-browser":
                api.admin.delete(f"/flavorprofiles/{p['id']}")


def test_operator_registers_a_network_and_subnet_and_sees_the_gateway_refused(
        dash: Dashboard, b: Browser) -> None:
    api = dash.api
    try:
        b.sign_in(api.admin.token)
        b.go("/admin/networks")
        b.wait_for("[data-test=network-form]")
        b.type("[data-test=network-name]", "browser-net")
        b.click("[data-test=network-submit]")
        b.wait_for("[data-test=network-row][data-name=browser-net]")
        nets = {n["name"]: n for n in api.admin.get("/v2.0/networks").json()["networks"]}
        net = nets["browser-net"]
        assert net["shared"] is True and net["mtu"] == 1500

        b.choose("[data-test=subnet-network]", net["id"])
        b.type("[data-test=subnet-name]", "browser-sub")
        b.type("[data-test=subnet-cidr-input]", "10.77.0.0/24")
        assert b.find("[data-test=subnet-ip-version]").text == "IPv4"
        gateway = "[data-test=subnet-gateway-input]"
        b.type(gateway, "10.78.0.1")
        b.click("[data-test=subnet-submit]")
        error = b.find("[data-test=subnet-form] [data-field=gateway_ip] "
                       "[data-test=error-gateway_ip]")
        assert "10.78.0.1" in error.text and "10.77.0.0/24" in error.text, error.text
        assert not b.find_all("[data-test=subnet-form] [data-test=error-cidr]:not([hidden])")
        assert "browser-sub" not in {s["name"] for s in api.admin.get("/v2.0/subnets").json()[
            "subnets"]}

        b.type(gateway, "10.77.0.1")
        b.click("[data-test=subnet-submit]")
        row = (f"[data-test=network-row][data-id='{net['id']}'] "
               "[data-test=subnet-row][data-name=browser-sub]")
        b.wait_for(row)
        assert not b.find_all("[data-test=subnet-form] .field-error:not([hidden])")
        subs = {s["name"]: s for s in api.admin.get("/v2.0/subnets").json()["subnets"]}
        sub = subs["browser-sub"]
        assert (sub["network_id"], sub["cidr"], sub["gateway_ip"], sub["ip_version"]) == (
            net["id"], "10.77.0.0/24", "10.77.0.1", 4)
        assert b.find(f"{row} [data-test=subnet-gateway]").text == "10.77.0.1"
        assert b.script_errors() == []
    finally:
        for s in api.admin.get("/v2.0/subnets").json()["subnets"]:
            if s["name"] == "browser-sub":
                api.admin.delete(f"/v2.0/subnets/{s['id']}")
        for n in api.admin.get("/v2.0/networks").json()["networks"]:
            if n["name"] == "browser-net":
                api.admin.delete(f"/v2.0/networks/{n['id']}")


def test_problems_page_lists_an_errored_load_balancer_and_fails_it_over(
        dash: Dashboard, b: Browser) -> None:
    api = dash.api
    lb = api.create_lb(name="broken")
    try:
        with write_session(api.services.sessions) as s:
            row = s.get(models.LoadBalancer, lb["id"])
            assert row is not None
            row.provisioning_status = "ERROR"
        assert api.admin.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"][
            "provisioning_status"] == "ERROR"

        b.sign_in(api.admin.token)
        b.go("/admin/problems")
        problem = f"[data-test=problem-row][data-lb='{lb['id']}']"
        b.wait_attribute(f"{problem} [data-test=provisioning]", "data-status",
                         "ERROR".__eq__, 20)
        assert "Provisioning failed (ERROR)" in b.find(
            f"{problem} [data-test=problem-reason]").text
        b.click(f"{problem} [data-test=failover]")
        confirm(b)
        api.wait_active(api.admin, f"/loadbalancers/{lb['id']}", "loadbalancer", 20)
        b.wait_gone(problem)
        b.wait_for("[data-test=no-problems]")
        assert b.script_errors() == []
    finally:
        drop_lb(api, lb["id"])


def test_operator_pages_are_for_operators_only(dash: Dashboard, b: Browser) -> None:
    api = dash.api
    b.sign_in(api.member.token)
    b.go("/admin/quotas")
    assert "Operators only" in b.find("[data-test=admin-only]").text
    assert not b.find_all("[data-test=quota-form]")
    assert api.member.put("/quotas/project-a", {"quota": {"load_balancer": 99}}).status_code == 403
    assert b.script_errors() == []


# -- reader and token expiry -----------------------------------------------------------------

def test_reader_is_offered_no_write_action(dash: Dashboard, b: Browser) -> None:
    api = dash.api
    lb = tree_lb(api, "look")
    try:
        listener_id = api.member.get(f"/loadbalancers/{lb['id']}").json()["loadbalancer"][
            "listeners"][0]["id"]
        r = api.member.post("/l7policies", {"l7policy": {
            "listener_id": listener_id, "action": "REJECT", "name": "deny",
            "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/admin"}]}})
        assert r.status_code == 201, r.text
        eventually(lambda: settled(api, lb["id"]), 20, "ACTIVE after the policy")

        b.sign_in(api.reader.token)
        b.find("[data-test=read-only]")
        open_lb(b, lb)
        b.wait_for("[data-test=l7policy][data-name=deny] [data-test=l7rule]")
        b.wait_for("[data-test=member-row][data-name=web02]")
        for action in ("edit-lb", "delete-lb", "failover-lb", "batch-edit", "add-l7policy",
                       "add-l7rule", "delete-l7policy", "delete-l7rule"):
            assert not b.find_all(f"[data-test={action}]"), action
        assert api.reader.put(f"/loadbalancers/{lb['id']}",
                              {"loadbalancer": {"name": "x"}}).status_code == 403
        b.go("/admin/agents")
        assert "Operators only" in b.find("[data-test=admin-only]").text
        assert not b.find_all("[data-test=agents]")
        assert b.script_errors() == []
    finally:
        drop_lb(api, lb["id"])


def test_revoked_token_returns_to_sign_in_without_a_password_dialog(dash: Dashboard,
                                                                   b: Browser) -> None:
    api = dash.api
    caller = api.caller("project-a", "member")
    b.sign_in(caller.token)
    b.go("/loadbalancers/new")  # the wizard: no polling, nothing asks the API until we act
    b.wait_for("form[data-step=details]")
    # Record what the page's 401 answers carry (the page's own fetch, same origin: every
    # header but Set-Cookie is readable).
    b.driver.execute_script("""
        window.__denied = [];
        const original = window.fetch;
        window.fetch = async (...args) => {
          const response = await original(...args);
          if (response.status === 401) {
            window.__denied.push(response.headers.get('WWW-Authenticate'));
          }
          return response;
        };""")

    with write_session(api.services.sessions) as s:
        token = s.query(models.Token).filter_by(secret_hash=hash_secret(caller.token)).one()
        s.delete(token)
    time.sleep(TOKEN_CACHE_SECONDS + 1)
    assert caller.get("/loadbalancers").status_code == 401

    started = time.monotonic()
    b.go("/loadbalancers")
    b.wait_for("[data-test=token-form]", timeout=10)
    assert time.monotonic() - started < 8  # no dialog held the request
    assert "no longer valid" in b.find("[data-test=toast-error]").text
    assert b.driver.current_url.endswith("#/signin")
    assert b.driver.execute_script("return sessionStorage.getItem('lbaas.token');") is None
    assert not b.find_all("#nav:not([hidden])")
    denied = b.driver.execute_script("return window.__denied;")
    assert denied and all(challenge is None for challenge in denied), denied

    # What the server does: no Basic challenge to the page's requests, one to other clients.
    with httpx.Client(base_url=dash.url, trust_env=False) as client:
        page = client.get("/v2/lbaas/loadbalancers", headers={
            "X-Auth-Token": caller.token, "X-Requested-With": "XMLHttpRequest"})
        plain = client.get("/v2/lbaas/loadbalancers", headers={"X-Auth-Token": caller.token})
    assert (page.status_code, plain.status_code) == (401, 401)
    assert "www-authenticate" not in page.headers
    assert plain.headers["www-authenticate"].startswith("Basic")
    assert b.script_errors() == []
