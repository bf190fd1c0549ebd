"""haproxy.cfg's logging lines: the agent's socket, access log formats, request ids, opt-out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lbaas.drivers.haproxy import logs
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.tls_files import plan_tls_files, write_tls_files
from tests.unit.haproxy_samples import (
    PATHS,
    make_listener,
    make_tls_listener,
    make_tree,
    needs_haproxy,
    section,
    tls_plan,
)
from tests.unit.test_haproxy_render_check import haproxy_check, rich_tree, sample_authority

LOGGED = dataclasses.replace(PATHS, log_socket="/var/lib/lbaas/haproxy-log.sock",
                             access_log_socket="/var/lib/lbaas/haproxy-access.sock")


def listeners():
    return [
        make_listener(id="l-http", protocol="HTTP", protocol_port=80),
        make_listener(id="l-tcp", protocol="TCP", protocol_port=81),
        make_listener(id="l-off", protocol="HTTP", protocol_port=82, access_log=False),
    ]


def test_global_and_defaults_send_logs_to_the_agent() -> None:
    text = render_haproxy_config(make_tree(listeners=listeners()), LOGGED)
    assert section(text, "global")[-2:] == [
        "log ring@lbaas-log format rfc5424 local0",
        "log-tag lb-1",
    ]
    assert section(text, "ring lbaas-log") == [
        "format rfc5424",
        f"maxlen {logs.MAX_LINE}",
        f"size {logs.EVENT_RING_SIZE}",
        "timeout connect 1s",
        f"timeout server {logs.RING_TIMEOUT_SERVER}",
        "server agent unix@'/var/lib/lbaas/haproxy-log.sock' log-proto octet-count",
    ]
    assert section(text, "ring lbaas-access") == [
        "format raw",
        f"maxlen {logs.ACCESS_MAX_LINE}",
        f"size {logs.RING_SIZE}",
        "timeout connect 1s",
        f"timeout server {logs.RING_TIMEOUT_SERVER}",
        "server agent unix@'/var/lib/lbaas/haproxy-access.sock'",
    ]
    assert "log global" in section(text, "defaults")


def log_format(frontend: list[str]) -> str:
    [line] = [line for line in frontend if line.startswith("log-format ")]
    return line.removeprefix("log-format '").removesuffix("'")


def test_http_tcp_and_opted_out_frontends() -> None:
    tree = make_tree(listeners=listeners())
    text = render_haproxy_config(tree, LOGGED)
    http = section(text, "frontend l-http")
    # only the access ring: the events' ring of the defaults is dropped first
    assert http[http.index("no log") + 1] == (
        f"log ring@lbaas-access len {logs.ACCESS_MAX_LINE} format raw local0")
    assert log_format(http) == logs.access_log_format(
        tuple(logs.FIELDS), protocol="http", loadbalancer_id=tree.id,
        project_id=tree.project_id, client_certificate=False)
    assert f"unique-id-format '{logs.unique_id_format(tree.id)}'" in http
    assert "unique-id-header X-Request-ID" in http
    tcp = section(text, "frontend l-tcp")
    assert '"protocol":"tcp"' in log_format(tcp) and "http_status" not in log_format(tcp)
    assert not any(line.startswith("unique-id-header") for line in tcp)
    off = section(text, "frontend l-off")
    assert "no log" in off
    assert not any(line.startswith(("log", "unique-id")) for line in off if line != "no log")


def test_chosen_fields_only() -> None:
    text = render_haproxy_config(make_tree(listeners=listeners()), LOGGED,
                                 access_log_fields=("http_status", "loadbalancer_id"))
    assert log_format(section(text, "frontend l-http")) == (
        '{"loadbalancer_id":"lb-1","http_status":%ST}')
    assert log_format(section(text, "frontend l-tcp")) == '{"loadbalancer_id":"lb-1"}'


def test_terminated_https_logs_the_client_certificate_when_it_asks_for_one() -> None:
    plain = make_tls_listener()
    asking = make_tls_listener(id="l-auth", protocol_port=444, client_authentication="OPTIONAL",
                               client_ca=sample_authority().cert_pem)
    tree = make_tree(listeners=[plain, asking])
    text = render_haproxy_config(tree, LOGGED, tls_files=tls_plan(tree))
    assert '"tls_client_dn":null' in log_format(section(text, f"frontend {plain.id}"))
    assert '"tls_client_dn":%{+Q}[ssl_c_s_dn,json(utf8s)]' in log_format(
        section(text, "frontend l-auth"))
    assert '"protocol":"http"' in log_format(section(text, "frontend l-auth"))


def test_globally_disabled_logs_only_haproxys_events() -> None:
    text = render_haproxy_config(make_tree(listeners=listeners()), LOGGED, access_logs=False)
    assert "log-tag lb-1" in section(text, "global")
    assert "log-format" not in text and "log ring@lbaas-access" not in text
    for listener in ("l-http", "l-tcp", "l-off"):
        assert "no log" in section(text, f"frontend {listener}")


def test_without_a_socket_nothing_changes() -> None:
    text = render_haproxy_config(make_tree(listeners=listeners()), PATHS)
    assert "log" not in text.replace("load-server-state", "")


@pytest.mark.parametrize("path", ["relative.sock", "/tmp/x\n    log 1.2.3.4:514 local0",
                                  "/" + "a" * 120])
def test_unsafe_socket_paths_are_refused(path: str) -> None:
    with pytest.raises(UnsafeConfigValue, match="log socket"):
        render_haproxy_config(make_tree(), dataclasses.replace(PATHS, log_socket=path))


@needs_haproxy
def test_haproxy_accepts_every_listener_kind_with_logs(tmp_path: Path) -> None:
    (tmp_path / "servers.state").write_text("1\n")
    paths = dataclasses.replace(PATHS, server_state_file=str(tmp_path / "servers.state"),
                                log_socket=str(tmp_path / "log.sock"),
                                access_log_socket=str(tmp_path / "access.sock"))
    tree = rich_tree()
    # a project id haproxy and JSON both have to take literally
    tree = tree.model_copy(update={"project_id": "p %ci \"'\\ ] é", "listeners": [
        *tree.listeners, make_listener(id="l-off", protocol_port=8999, access_log=False)]})
    files = plan_tls_files(tree, tmp_path / "certs")
    write_tls_files(files)
    text = render_haproxy_config(tree, paths, tls_files=files)
    assert text.count("log-format") >= 4
    result = haproxy_check(text, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unique-id" not in result.stdout + result.stderr  # no warning either
