"""The admin log (lbaas.core.admin_events, lbaas.observability.admin_log): the file is created
0600 in a 0700 directory, each event is one JSON line with the load balancer id, the event, the
request id, time, level and message (plus the event's own fields), it rotates at its size cap
keeping the configured number of files, the events also reach the normal log, an empty
``[admin_log] file`` writes no file; and the agent manager (on the in-memory doubles of
:mod:`tests.unit.agent_doubles`) emits deploy results, failures, removals, role changes and
restarts of a dead haproxy.
"""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lbaas.config import load_config
from lbaas.core.admin_events import ADMIN_LOGGER, Event, admin_event
from lbaas.core.request_ids import request_scope
from lbaas.observability.admin_log import AdminLogHandler, install_admin_log
from tests.unit.agent_doubles import Agent, make_tree
from tests.unit.test_agent_manager_pairs import pair_tree


def _conf(path: str, **options: Any) -> Any:
    return load_config(overrides={"admin_log": {"file": path, **options}})


@pytest.fixture
def admin_file(tmp_path: Path) -> Iterator[Path]:
    """The admin log installed on ``tmp_path/logs/admin.log``; removed afterwards."""
    path = tmp_path / "logs" / "admin.log"
    handler = install_admin_log(_conf(str(path)))
    assert handler is not None
    yield path
    install_admin_log(_conf(""))  # removes it


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_event_is_one_json_line_with_its_fields_in_a_private_file(admin_file: Path) -> None:
    with request_scope() as rid:
        admin_event(Event.HAPROXY_RELOADED, "lb-1", "haproxy of %s reloaded", "lb-1",
                    duration_s=0.25)
    [line] = _lines(admin_file)
    assert line["loadbalancer_id"] == "lb-1" and line["event"] == "haproxy_reloaded"
    assert line["request_id"] == rid and line["level"] == "INFO"
    assert line["message"] == "haproxy of lb-1 reloaded" and line["duration_s"] == 0.25
    assert line["logger"] == ADMIN_LOGGER and line["time"]
    assert _mode(admin_file) == 0o600 and _mode(admin_file.parent) == 0o700


def test_the_file_rotates_at_its_cap_keeping_the_configured_files(tmp_path: Path) -> None:
    path = tmp_path / "admin.log"
    install_admin_log(_conf(str(path), max_bytes=1024, backup_count=2))
    try:
        for number in range(100):
            admin_event(Event.DEPLOYED, f"lb-{number}", "built %s", number)
    finally:
        install_admin_log(_conf(""))
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == ["admin.log", "admin.log.1", "admin.log.2"]
    assert all(_mode(tmp_path / name) == 0o600 for name in kept)
    assert all(p.stat().st_size <= 1024 for p in tmp_path.iterdir())
    assert _lines(path)[-1]["loadbalancer_id"] == "lb-99"


def test_an_existing_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "admin.log"
    path.write_text("")
    path.chmod(0o644)
    install_admin_log(_conf(str(path)))
    try:
        admin_event(Event.REMOVED, "lb-1", "removed")
    finally:
        install_admin_log(_conf(""))
    assert _mode(path) == 0o600 and len(_lines(path)) == 1


def test_events_also_reach_the_normal_log(admin_file: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        admin_event(Event.REMOVED, "lb-2", "load balancer %s removed", "lb-2")
    [record] = [r for r in caplog.records if r.name == ADMIN_LOGGER]
    assert record.getMessage() == "load balancer lb-2 removed"
    assert record.loadbalancer_id == "lb-2"  # type: ignore[attr-defined]
    assert _lines(admin_file)[0]["event"] == "removed"


def test_an_empty_file_option_installs_no_handler(tmp_path: Path) -> None:
    assert install_admin_log(_conf("")) is None
    assert not [h for h in logging.getLogger(ADMIN_LOGGER).handlers
                if isinstance(h, AdminLogHandler)]


def test_the_default_file_is_under_state_path(tmp_path: Path) -> None:
    conf = load_config(overrides={"DEFAULT": {"state_path": str(tmp_path)}})
    assert conf.admin_log.file == f"{tmp_path}/logs/admin.log"


def _events(path: Path, lb_id: str) -> list[dict[str, Any]]:
    return [line for line in _lines(path) if line["loadbalancer_id"] == lb_id]


def test_the_manager_logs_deploys_failures_and_removals(agent: Agent, admin_file: Path) -> None:
    from lbaas.drivers.haproxy.process import ConfigRejected

    with request_scope() as rid:
        agent.server.add(make_tree("lb1", "PENDING_CREATE", revision=2))
        agent.manager.refresh("lb1")
        agent.server.add(make_tree("lb1", "PENDING_UPDATE", revision=3))
        agent.device.errors["lb1"] = ConfigRejected("[ALERT] bogus keyword")
        agent.manager.refresh("lb1")
        del agent.device.errors["lb1"]
        agent.server.add(make_tree("lb1", "PENDING_DELETE", revision=4))
        agent.manager.refresh("lb1")
    events = _events(admin_file, "lb1")
    assert [e["event"] for e in events] == ["deployed", "deploy_failed", "removed"]
    assert events[0]["revision"] == 2
    assert events[1]["revision"] == 3 and "bogus keyword" in events[1]["reason"]
    assert events[1]["level"] == "ERROR"
    assert all(e["request_id"] == rid for e in events)


def test_the_manager_logs_role_changes_and_restarts(agent: Agent, admin_file: Path) -> None:
    agent.server.add(pair_tree())
    agent.manager.refresh("lb1")
    with request_scope():
        agent.manager.watch_roles()
        agent.device.roles["lb1"] = "MASTER"
        agent.manager.watch_roles()
        agent.manager.watch_roles()  # unchanged: no line
        agent.device.healthy.discard("lb1")
        agent.manager.collect_stats()
    agent.settle()
    events = [(e["event"], e.get("role"), e.get("previous"))
              for e in _events(admin_file, "lb1") if e["event"] != "deployed"]
    assert events == [("vrrp_role", "BACKUP", None), ("vrrp_role", "MASTER", "BACKUP"),
                      ("haproxy_restart", None, None)]
