"""Who may read the API server's /metrics (lbaas/api/metrics_auth.py): the scrape token of
[metrics] token_file as a bearer, or an admin's own credentials; nobody else, since the fleet
metrics name every project's load balancers. Also: a server refuses to start with an unusable
token file (lbaas/core/scrape_token.py)."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lbaas.api.app import build_services
from lbaas.config import load_config
from lbaas.core.scrape_token import ScrapeTokenError, create_token_file, load_scrape_token
from tests.functional.harness import Api, build_api, close_api


@pytest.fixture
def token_api(tmp_path: Path) -> Iterator[tuple[Api, str]]:
    """An API whose [metrics] token_file holds a token; (api, the token)."""
    token_file = create_token_file(tmp_path / "metrics.token")
    built = build_api(str(tmp_path / "state"), overrides={"metrics": {
        "token_file": str(token_file)}})
    try:
        yield built, token_file.read_text().strip()
    finally:
        close_api(built)


def _get(api: Api, **headers: str) -> tuple[int, str, str]:
    """(status, body, WWW-Authenticate) of GET /metrics with ``headers``."""
    r = api.client.get("/metrics", headers={k.replace("_", "-"): v for k, v in headers.items()})
    return r.status_code, r.text, r.headers.get("www-authenticate", "")


def test_the_scrape_token_and_an_admin_may_read_the_fleet(token_api: tuple[Api, str]) -> None:
    api, token = token_api
    lb_a, lb_b = api.create_lb(api.member), api.create_lb(api.other)
    for headers in ({"Authorization": f"Bearer {token}"}, {"X_Auth_Token": api.admin.token}):
        status, body, _ = _get(api, **headers)
        assert status == 200, body
        assert lb_a["id"] in body and lb_b["id"] in body and 'project_id="project-b"' in body


def test_no_or_a_wrong_credential_is_401_saying_what_to_send(token_api: tuple[Api, str]) -> None:
    api, token = token_api
    status, body, challenge = _get(api)
    assert (status, challenge) == (401, 'Bearer realm="lbaas-metrics"')
    assert "Authorization: Bearer" in body and "[metrics] token_file" in body
    for wrong in (token[:-1], token + "x", "", f"{token} {token}"):
        status, body, _ = _get(api, Authorization=f"Bearer {wrong}")
        assert status == 401, wrong
        assert "not the metrics scrape token" in body or "Authentication required" in body
    assert _get(api, X_Auth_Token="not-a-token")[0] == 401


def test_a_tenant_gets_403_and_no_other_projects_id(token_api: tuple[Api, str]) -> None:
    api, _ = token_api
    other_lb = api.create_lb(api.other)
    for caller in (api.member, api.reader):
        status, body, _ = _get(api, X_Auth_Token=caller.token)
        assert status == 403, body
        assert "project-b" not in body and other_lb["id"] not in body
        assert "Only an admin or the metrics scrape token" in body
    # A tenant's token as a bearer is not the scrape token either.
    status, body, _ = _get(api, Authorization=f"Bearer {api.member.token}")
    assert status == 401 and "project-b" not in body


def test_without_a_token_file_only_admins_read(sqlite_api: Api) -> None:
    assert sqlite_api.services.scrape_token is None
    sqlite_api.create_lb(sqlite_api.other)
    assert _get(sqlite_api)[0] == 401
    status, body, _ = _get(sqlite_api, Authorization="Bearer anything-at-all-0123456789")
    assert status == 401 and "token_file is empty" in body
    assert _get(sqlite_api, X_Auth_Token=sqlite_api.member.token)[0] == 403
    assert _get(sqlite_api, X_Auth_Token=sqlite_api.admin.token)[0] == 200


def _start(tmp_path: Path, token_file: Path) -> None:
    conf = load_config(overrides={
        "DEFAULT": {"state_path": str(tmp_path / "state")},
        "api": {"default_provider": "noop", "enabled_providers": ["noop"]},
        "metrics": {"token_file": str(token_file)}})
    build_services(conf, migrate=False)


def test_a_server_refuses_to_start_with_an_unusable_token_file(tmp_path: Path) -> None:
    with pytest.raises(ScrapeTokenError, match="lbaas metrics-token create"):
        _start(tmp_path, tmp_path / "absent.token")
    shared = create_token_file(tmp_path / "shared.token")
    shared.chmod(0o640)
    with pytest.raises(ScrapeTokenError, match="chmod 600"):
        _start(tmp_path, shared)
    short = tmp_path / "short.token"
    short.write_text("s3cr3t\n")
    short.chmod(0o600)
    with pytest.raises(ScrapeTokenError, match="does not hold a token") as caught:
        _start(tmp_path, short)
    assert "s3cr3t" not in str(caught.value)


def _metrics_token_create(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lbaas.cli.main", "metrics-token", "create",
                           "--config-file", str(config)], capture_output=True, text=True,
                          timeout=120)


def test_metrics_token_create_writes_once(tmp_path: Path) -> None:
    config = tmp_path / "lbaas.conf"
    config.write_text(f"[metrics]\ntoken_file = {tmp_path}/etc/metrics.token\n")
    created = _metrics_token_create(config)
    assert created.returncode == 0, created.stdout + created.stderr
    token_file = tmp_path / "etc" / "metrics.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text()
    assert token.strip() not in created.stdout + created.stderr
    load_scrape_token(token_file)  # what a server and an agent accept
    again = _metrics_token_create(config)
    assert again.returncode == 1 and "exists" in again.stdout
    assert token_file.read_text() == token
    config.write_text("[metrics]\ntoken_file =\n")
    unset = _metrics_token_create(config)
    assert unset.returncode == 1 and "[metrics] token_file is empty" in unset.stdout
