"""The shipped alert rules and example configs (etc/prometheus/): promtool checks them and runs
their unit tests (etc/prometheus/tests/*.yml, series written by hand, each alert firing and not
firing at its edges); amtool checks the Alertmanager example."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lbaas.core.scrape_token import create_token_file

ETC = Path(__file__).resolve().parents[2] / "etc" / "prometheus"
RULES = ETC / "lbaas-alerts.yml"
TIERS = {"down", "critical", "warning"}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: prometheus, prometheus-alertmanager)")
    return path


def _run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ETC)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_promtool_checks_the_rules() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    count = sum(len(group["rules"]) for group in groups)
    assert f"SUCCESS: {count} rules found" in _run(_tool("promtool"), "check", "rules", str(RULES))


@pytest.mark.parametrize("tests_file", sorted((ETC / "tests").glob("*.yml")), ids=lambda p: p.name)
def test_promtool_rule_unit_tests_pass(tests_file: Path) -> None:
    assert "SUCCESS" in _run(_tool("promtool"), "test", "rules", str(tests_file))


def test_promtool_checks_the_example_prometheus_config(tmp_path: Path) -> None:
    """As an operator installs it: beside the rules and the scrape token file it names."""
    config = yaml.safe_load((ETC / "prometheus.yml").read_text())
    token_files = {job["authorization"]["credentials_file"] for job in config["scrape_configs"]}
    assert len(token_files) == 1 and {job["job_name"] for job in config["scrape_configs"]} == {
        "lbaas-api", "lbaas-agent"}  # one token scrapes both jobs
    for name in ("prometheus.yml", "lbaas-alerts.yml"):
        shutil.copy(ETC / name, tmp_path / name)
    create_token_file(tmp_path / token_files.pop())
    _run(_tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml"))


def test_amtool_checks_the_example_alertmanager_config() -> None:
    _run(_tool("amtool"), "check-config", str(ETC / "alertmanager.yml"))


def test_every_alert_has_a_tier_and_says_what_it_is_about() -> None:
    for rule in _alerts():
        assert rule["labels"]["severity"] in TIERS, rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in (ETC / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in _alerts()}
    assert names - fired == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested not firing"
