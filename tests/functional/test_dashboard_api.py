"""The dashboard's HTTP side (``lbaas/api/dashboard/routes.py``): the page and its assets under
a strict Content-Security-Policy, the session document the page shapes itself by, the refusal of
Keystone sign-in on a token-authenticated server, and no Basic challenge to a script's 401.
What the page does in a browser is tested in ``tests/e2e/test_dashboard.py``."""

from __future__ import annotations

import re
from pathlib import Path

from lbaas.api.dashboard.routes import STATIC
from tests.functional.harness import Api

SCRIPTED = {"X-Requested-With": "XMLHttpRequest"}


def test_the_page_and_its_assets_carry_a_strict_policy(sqlite_api: Api) -> None:
    c = sqlite_api.client
    r = c.get("/dashboard", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, "/dashboard/")
    page = c.get("/dashboard/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="static/js/app.js">' in page.text
    for response in (page, c.get("/dashboard/static/js/app.js"),
                     c.get("/dashboard/static/app.css")):
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
    assert "javascript" in c.get("/dashboard/static/js/app.js").headers["content-type"]


def test_assets_outside_the_static_directory_are_not_served(sqlite_api: Api) -> None:
    c = sqlite_api.client
    for path in ("/dashboard/static/../routes.py", "/dashboard/static/%2e%2e/routes.py",
                 "/dashboard/static/..%2froutes.py", "/dashboard/static/nope.js"):
        assert c.get(path).status_code == 404, path


def test_config_needs_no_sign_in_and_says_how_to_sign_in(sqlite_api: Api) -> None:
    body = sqlite_api.client.get("/dashboard/api/config").json()
    assert (body["auth_strategy"], body["keystone_sign_in"]) == ("token", False)


def test_session_says_who_and_what_policy_allows(sqlite_api: Api) -> None:
    def session(token: str) -> dict[str, object]:
        r = sqlite_api.client.get("/dashboard/api/session", headers={"X-Auth-Token": token})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        body: dict[str, object] = r.json()
        return body

    member, reader, admin = (session(sqlite_api.member.token), session(sqlite_api.reader.token),
                             session(sqlite_api.admin.token))
    assert (member["project_id"], member["roles"], member["is_admin"]) == (
        "project-a", ["member"], False)
    assert member["can"] == {"create_loadbalancer": True, "update_loadbalancer": True,
                             "delete_loadbalancer": True, "failover_loadbalancer": False,
                             "manage_agents": False, "manage_quotas": False,
                             "manage_flavors": False, "manage_networks": False}
    assert reader["can"]["create_loadbalancer"] is False  # type: ignore[index]
    assert not any(reader["can"].values())  # type: ignore[attr-defined]
    assert admin["is_admin"] is True and all(admin["can"].values())  # type: ignore[attr-defined]


def test_a_scripts_401_has_no_basic_challenge(sqlite_api: Api) -> None:
    """A browser answers ``WWW-Authenticate: Basic`` with its password dialog; the page's own
    calls (X-Requested-With) get the 401 without it, everyone else keeps the challenge."""
    c = sqlite_api.client
    plain = c.get("/v2/lbaas/loadbalancers", headers={"X-Auth-Token": "lbaas_revoked"})
    assert plain.status_code == 401 and plain.headers["www-authenticate"].startswith("Basic")
    for path in ("/v2/lbaas/loadbalancers", "/dashboard/api/session"):
        scripted = c.get(path, headers={"X-Auth-Token": "lbaas_revoked", **SCRIPTED})
        assert scripted.status_code == 401 and "www-authenticate" not in scripted.headers
        assert "unknown or expired" in scripted.json()["faultstring"]


def test_keystone_sign_in_is_refused_on_a_token_server(sqlite_api: Api) -> None:
    r = sqlite_api.client.post("/dashboard/api/login", json={
        "username": "alice", "password": "x", "project_name": "a"})
    assert r.status_code == 400
    assert "does not use Keystone" in r.json()["faultstring"]
    missing = sqlite_api.client.post("/dashboard/api/login", json={"username": "alice"})
    assert missing.status_code == 400 and "password" in missing.json()["faultstring"]


def test_every_module_and_asset_the_page_names_exists() -> None:
    """index.html's assets and every ES module import (static and dynamic) resolve to a file,
    and the router's views each have a module."""
    index = (STATIC / "index.html").read_text()
    for ref in re.findall(r'(?:src|href)="(static/[^"]+)"', index):
        assert (STATIC / ref.removeprefix("static/")).is_file(), ref
    scripts = list((STATIC / "js").rglob("*.js"))
    assert scripts
    for script in scripts:
        text = script.read_text()
        for ref in re.findall(r'(?:from|import)\s*\(?\s*"(\.{1,2}/[^"]+)"', text):
            assert (script.parent / ref).resolve().is_file(), f"{script.name}: {ref}"
    app = (STATIC / "js" / "app.js").read_text()
    views = re.findall(r'^\s+\[/\^#.*?"(\w+)"', app, re.M)
    assert {"signin", "loadbalancers", "wizard", "loadbalancer", "admin"} <= set(views)
    for view in views:
        assert (STATIC / "js" / "views" / f"{view}.js").is_file(), view


def test_no_script_writes_markup() -> None:
    """Tenant strings reach the page as text only: no script parses a string as HTML."""
    forbidden = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|"
                           r"new Function|DOMParser")
    for script in Path(STATIC / "js").rglob("*.js"):
        assert not forbidden.search(script.read_text()), script.name


def test_an_operator_may_turn_the_dashboard_off(tmp_path: Path) -> None:
    from tests.functional.harness import build_api, close_api

    api = build_api(str(tmp_path), overrides={"api": {"dashboard": False}})
    try:
        for path in ("/dashboard/", "/dashboard/static/js/app.js", "/dashboard/api/config"):
            assert api.client.get(path).status_code == 404, path
        assert api.member.get("/loadbalancers").status_code == 200
    finally:
        close_api(api)
