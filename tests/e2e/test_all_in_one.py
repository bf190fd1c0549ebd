"""The README's main job: ``lbaas up --demo`` builds the demo load balancer and it answers from
both backends; it writes a clouds.yaml for the API and the secret store and says how to use
them and how Prometheus scrapes it with the metrics token it made; a restart keeps the admin
and metrics tokens it wrote; ``lbaas down`` removes every namespace
and process it made."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from lbaas.drivers.interface.namespaces import list_namespaces


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lbaas(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lbaas.cli.main", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_up_demo_serves_both_backends_and_down_cleans_up(tmp_path: Path) -> None:
    state = tmp_path / "state"
    before = set(list_namespaces())
    try:
        up = _lbaas("up", "--demo", "--exit-after-demo", "--state-path", str(state), "--port",
                    str(_free_port()), timeout=240)
        assert up.returncode == 0, up.stderr[-3000:]
        assert "You've reached WEB01" in up.stderr and "You've reached WEB02" in up.stderr
        assert "LBAAS_UP endpoint=" in up.stdout
        endpoint = up.stdout.split("LBAAS_UP endpoint=", 1)[1].split()[0]
        clouds = (state / "clouds.yaml")
        assert clouds.stat().st_mode & 0o777 == 0o600
        assert "admin_token" in clouds.read_text()
        assert f"endpoint: {endpoint}/key-manager/v1" in clouds.read_text()  # lbaas-secrets
        assert "openstack --os-cloud lbaas-secrets secret list" in up.stderr
        assert f"{endpoint}/dashboard/" in up.stderr
        assert any(n.startswith("qlbaas-") for n in set(list_namespaces()) - before)
        token = (state / "admin-token").read_text().strip()
        # The scrape token: made 0600 on first start, named (not shown) with the jobs to add.
        scrape_token = (state / "metrics.token")
        assert scrape_token.stat().st_mode & 0o777 == 0o600
        kept = scrape_token.read_text()
        assert f"authorization: {{credentials_file: {scrape_token}}}" in up.stderr
        assert "job_name: lbaas-api" in up.stderr and "job_name: lbaas-agent" in up.stderr
        assert kept.strip() not in up.stderr + up.stdout
        # A restart keeps the token a shell may have exported (the demo calls authenticate
        # with it again).
        again = _lbaas("up", "--demo", "--exit-after-demo", "--state-path", str(state),
                       "--port", str(_free_port()), timeout=240)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "You've reached WEB01" in again.stderr and "You've reached WEB02" in again.stderr
        assert (state / "admin-token").read_text().strip() == token
        assert scrape_token.read_text() == kept  # Prometheus may already read it
        assert token in clouds.read_text()
    finally:
        down = _lbaas("down", "--state-path", str(state), timeout=120)
    assert down.returncode == 0, down.stderr[-3000:]
    left = [n for n in set(list_namespaces()) - before if n.startswith(("qlbaas-", "lbdemo-"))]
    assert left == []
