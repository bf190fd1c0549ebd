"""The dashboard in a real browser (headless Chromium, ``tests/browser.py``) over the whole stack:
the API serving the page, an agent running haproxy in namespaces, two web backends.

One story, as the seed documents tell it (``docs`` seeds 000, 002): a tenant signs in with a
token, builds the load balancer through the wizard (a mistyped member address first: the API's
fault lands next to that field), sees it become ACTIVE/ONLINE, sees the traffic chart move while
a client sends requests, sees web01's member turn ERROR and the pool DEGRADED on the open page
when web01 stops (and ONLINE again when it returns), and deletes it with a confirmation. A
reader of the same project sees it and cannot create or change; project B never sees it; the
operator's pages show the agent holding it. Screenshots of the main pages go to
``test-artifacts/dashboard/``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lbaas.api.app import create_app
from tests.browser import Browser, browser_available
from tests.e2e.stack import Stack, answers, eventually
from tests.live import run_live_server
from tests.netlab import stop_process

pytestmark = pytest.mark.skipif(not browser_available(),
                                reason="chromium and chromium-driver are not installed")

WEB01, WEB02 = "10.241.0.11", "10.241.0.12"


@pytest.fixture
def url(stack: Stack) -> Iterator[str]:
    """The stack's API served on a real socket (its services already run: lifespan off)."""
    with run_live_server(create_app(stack.conf, stack.api.services), lifespan="off") as base:
        yield base


def node(kind: str, name: str) -> str:
    return f"[data-test=status-tree] [data-kind={kind}][data-name={name}]"


def test_tenant_builds_watches_and_deletes_the_seed_load_balancer(stack: Stack, url: str
                                                                   ) -> None:
    stack.backend("w1", 11, "You've reached WEB01")
    stack.backend("w2", 12, "You've reached WEB02")
    client = stack.client()
    with Browser(url) as b:
        b.sign_in(stack.api.member.token)
        assert "project-a" in b.find("[data-test=who-project]").text
        b.wait_for("[data-test=lb-empty]")
        b.screenshot("01-empty-list")
        b.click("[data-test=create-lb]")

        # Details -> listener -> pool -> members -> monitor -> review, as Octavia's dashboard.
        b.type("form[data-step=details] [name=name]", "seed")
        b.choose("form[data-step=details] [name=vip_subnet_id]", stack.api.subnet_id)
        b.click("[data-test=wizard-next]")
        b.type("form[data-step=listener] [name=name]", "http")
        b.choose("form[data-step=listener] [name=protocol]", "HTTP")
        b.type("form[data-step=listener] [name=protocol_port]", "80")
        b.click("[data-test=wizard-next]")
        b.type("form[data-step=pool] [name=name]", "web")
        b.choose("form[data-step=pool] [name=lb_algorithm]", "ROUND_ROBIN")
        b.click("[data-test=wizard-next]")
        b.click("[data-test=add-member]")
        rows = b.find_all("form[data-step=members] [data-test=member-row]")
        assert len(rows) == 2
        for row, (name, address) in zip(rows, (("web01", WEB01), ("web02", "10.241.0.300")),
                                        strict=True):
            b.type("[name=name]", name, within=row)
            b.type("[name=address]", address, within=row)
            b.type("[name=protocol_port]", "80", within=row)
        b.click("[data-test=wizard-next]")
        b.choose("form[data-step=monitor] [name=type]", "HTTP")
        for name, value in (("delay", "1"), ("timeout", "1"), ("max_retries", "2"),
                            ("max_retries_down", "2"), ("url_path", "/")):
            b.type(f"form[data-step=monitor] [name={name}]", value)
        b.click("[data-test=wizard-next]")
        b.wait_for("[data-test=wizard-json]")
        b.screenshot("02-wizard-review")
        b.click("[data-test=wizard-create]")

        # The API refuses web02's address: the wizard goes back to the members, and says why
        # next to that row's address.
        rows = b.find_all("form[data-step=members] [data-test=member-row]")
        error = b.find("[data-field=address] .field-error", within=rows[1])
        assert error.text == "Must be an IPv4 or IPv6 address", error.text
        assert not b.find_all("[data-field=address] .field-error:not([hidden])", within=rows[0])
        b.screenshot("03-wizard-field-error")
        b.type("[name=address]", WEB02, within=rows[1])
        for _ in range(2):
            b.click("[data-test=wizard-next]")
        b.wait_for("[data-test=wizard-json]")
        b.click("[data-test=wizard-create]")

        # The load balancer's page: progress, then ACTIVE and ONLINE, with the tree drawn.
        b.wait_for("[data-test=lb-name]")
        lb_id = b.driver.current_url.rsplit("/", 1)[1]
        stack.lb_ids.append(lb_id)
        b.wait_attribute("[data-test=lb-provisioning]", "data-status", "ACTIVE".__eq__, 120)
        for member in ("web01", "web02"):
            b.wait_attribute(node("member", member), "data-status", "ONLINE".__eq__, 60)
        b.wait_attribute("[data-test=lb-operating]", "data-status", "ONLINE".__eq__, 30)
        lb = stack.api.member.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"]
        assert lb["name"] == "seed"
        pool = stack.api.member.get(f"/pools/{lb['pools'][0]['id']}").json()["pool"]
        assert (pool["lb_algorithm"], pool["healthmonitor_id"] is not None) == (
            "ROUND_ROBIN", True)
        vip = lb["vip_address"]
        got = answers(client, vip, 4)
        assert set(got) == {"You've reached WEB01", "You've reached WEB02"}

        # Traffic: the connections chart moves while a client sends requests.
        load = client.spawn(["sh", "-c", f"while :; do curl -s -o /dev/null http://{vip}/; "
                                         "sleep 0.05; done"])
        try:
            b.wait_attribute("[data-test=chart-connections]", "data-max",
                             lambda v: float(v) > 0, 60)
        finally:
            stop_process(load)
        b.screenshot("04-loadbalancer-active")

        # web01 stops: on the open page (no reload) its member turns ERROR, the pool DEGRADED.
        stack.stop_server("w1")
        b.wait_attribute(node("member", "web01"), "data-status", "ERROR".__eq__, 60)
        b.wait_attribute(node("pool", "web"), "data-status", "DEGRADED".__eq__, 30)
        assert b.attribute(node("member", "web02"), "data-status") == "ONLINE"
        b.wait_attribute("[data-test=lb-operating]", "data-status", "DEGRADED".__eq__, 30)
        b.screenshot("05-member-down")
        stack.start_server("w1", "You've reached WEB01")
        b.wait_attribute(node("member", "web01"), "data-status", "ONLINE".__eq__, 60)
        b.wait_attribute(node("pool", "web"), "data-status", "ONLINE".__eq__, 30)

        # A reader of the project sees it, and is offered nothing that changes it.
        b.sign_out()
        b.sign_in(stack.api.reader.token)
        b.wait_for(f"[data-test=lb-row][data-id='{lb_id}']")
        b.find("[data-test=read-only]")
        assert not b.find_all("[data-test=create-lb]")
        b.go(f"/loadbalancers/{lb_id}")
        b.wait_attribute(node("member", "web01"), "data-status", "ONLINE".__eq__, 30)
        for action in ("edit-lb", "delete-lb", "failover-lb", "batch-edit", "add-l7policy"):
            assert not b.find_all(f"[data-test={action}]"), action
        b.go("/loadbalancers/new")
        b.find("[data-test=read-only]")
        assert not b.find_all("[data-test=wizard-create]")

        # Project B: not in its list, and its page is refused.
        b.sign_out()
        b.sign_in(stack.api.other.token)
        b.wait_for("[data-test=lb-empty]")
        b.go(f"/loadbalancers/{lb_id}")
        assert "Policy does not allow" in b.find("[data-test=view-error]").text
        assert not b.find_all("[data-test=status-tree]")

        # The operator: the agent holding it, and where it runs.
        b.sign_out()
        b.sign_in(stack.api.admin.token)
        b.go("/admin/agents")
        host = stack.conf.host
        b.wait_attribute(f"[data-test=agent-row][data-host='{host}'] [data-test=agent-alive]",
                         "data-status", "UP".__eq__, 30)
        eventually(lambda: b.find(f"[data-test=agent-row][data-host='{host}'] "
                                  "[data-test=agent-lb-count]").text.strip() == "1")
        b.screenshot("06-operator-agents")
        b.go("/admin/placement")
        assert host in b.find(f"[data-test=placement-row][data-lb='{lb_id}'] "
                              "[data-test=placement-hosts]").text

        # Back as the tenant: delete, with a confirmation, and it is gone (namespace too).
        b.sign_out()
        b.sign_in(stack.api.member.token)
        b.go(f"/loadbalancers/{lb_id}")
        b.click("[data-test=delete-lb]")
        b.click("[data-test=confirm-ok]")
        b.wait_for("[data-test=lb-empty]", timeout=120)
        assert stack.api.member.get(f"/loadbalancers/{lb_id}").status_code == 404
        assert b.script_errors() == []
