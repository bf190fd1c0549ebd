"""HAProxy's exporter text renamed to Octavia's PROMETHEUS listener series
(:mod:`lbaas.drivers.haproxy.octavia_metrics`)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lbaas.drivers.haproxy.octavia_metrics import Usage, octavia_name, render

LISTENER = "9d3c1f9e-0000-4000-8000-000000000001"
POOL = "9d3c1f9e-0000-4000-8000-000000000002"
MEMBER = "9d3c1f9e-0000-4000-8000-000000000003"

EXPORTER_TEXT = f"""\
# HELP haproxy_process_nbthread Number of started threads (global.nbthread)
# TYPE haproxy_process_nbthread gauge
haproxy_process_nbthread 1
# HELP haproxy_process_pool_used_bytes Amount of pool memory currently used (in bytes)
# TYPE haproxy_process_pool_used_bytes gauge
haproxy_process_pool_used_bytes 54736
# HELP haproxy_process_requests_total Total number of requests (TCP or HTTP)
# TYPE haproxy_process_requests_total counter
haproxy_process_requests_total 42
# HELP haproxy_frontend_status Current status of the service, per state label value.
# TYPE haproxy_frontend_status gauge
haproxy_frontend_status{{proxy="lbaas_exporter",state="UP"}} 1
haproxy_frontend_status{{proxy="{LISTENER}",state="UP"}} 1
# HELP haproxy_frontend_http_requests_total Total number of HTTP requests received
# TYPE haproxy_frontend_http_requests_total counter
haproxy_frontend_http_requests_total{{proxy="lbaas_exporter"}} 9
haproxy_frontend_http_requests_total{{proxy="{LISTENER}"}} 7
# HELP haproxy_backend_active_servers Current number of active servers
# TYPE haproxy_backend_active_servers gauge
haproxy_backend_active_servers{{proxy="{POOL}"}} 1
haproxy_backend_active_servers{{proxy="lbaas_metrics_{LISTENER}"}} 1
# HELP haproxy_backend_server_aborts_total Total number of requests aborted by the server
# TYPE haproxy_backend_server_aborts_total counter
haproxy_backend_server_aborts_total{{proxy="{POOL}"}} 2
# HELP haproxy_server_status Current status of the service, per state label value.
# TYPE haproxy_server_status gauge
haproxy_server_status{{proxy="{POOL}",server="{MEMBER}",state="UP"}} 1
haproxy_server_status{{proxy="{POOL}",server="{MEMBER}",state="DOWN"}} 0
haproxy_server_status{{proxy="lbaas_metrics_{LISTENER}",server="agent",state="UP"}} 1
# HELP haproxy_server_bytes_out_total Total number of response bytes since process started
# TYPE haproxy_server_bytes_out_total counter
haproxy_server_bytes_out_total{{proxy="{POOL}",server="{MEMBER}"}} 1234
"""


def samples(text: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``text``, which must parse, by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def test_series_get_octavias_names_and_labels() -> None:
    found = samples(render(EXPORTER_TEXT, Usage(cpu=12.34, memory=0.56)))
    assert found == {
        ("octavia_loadbalancer_cpu", frozenset()): 12.3,
        ("octavia_loadbalancer_memory", frozenset()): 0.6,
        ("octavia_memory_pool_used_bytes", frozenset()): 54736,
        ("octavia_loadbalancer_requests_total", frozenset()): 42,
        ("octavia_listener_status", frozenset({("listener", LISTENER), ("state", "UP")})): 1,
        ("octavia_listener_http_requests_total", frozenset({("listener", LISTENER)})): 7,
        ("octavia_pool_active_members", frozenset({("pool", POOL)})): 1,
        ("octavia_pool_member_aborts_total", frozenset({("pool", POOL)})): 2,
        ("octavia_member_status",
         frozenset({("pool", POOL), ("member", MEMBER), ("state", "UP")})): 1,
        ("octavia_member_status",
         frozenset({("pool", POOL), ("member", MEMBER), ("state", "DOWN")})): 0,
        ("octavia_member_bytes_out_total", frozenset({("pool", POOL), ("member", MEMBER)})): 1234,
    }


def test_counters_keep_their_type_and_help() -> None:
    text = render(EXPORTER_TEXT).decode()
    assert "# TYPE octavia_listener_http_requests_total counter" in text
    assert ("# HELP octavia_member_bytes_out_total Total number of response bytes since "
            "process started") in text
    assert "octavia_loadbalancer_cpu" not in text  # no usage given


def test_lbaas_sections_and_unlisted_series_are_dropped() -> None:
    text = render(EXPORTER_TEXT).decode()
    assert "lbaas_" not in text
    assert "nbthread" not in text
    assert "haproxy_" not in text


@pytest.mark.parametrize(("haproxy", "octavia"), [
    ("haproxy_process_current_connections", "octavia_loadbalancer_current_connections"),
    ("haproxy_process_pool_failures_total", "octavia_memory_pool_failures_total"),
    ("haproxy_frontend_bytes_in_total", "octavia_listener_bytes_in_total"),
    ("haproxy_backend_backup_servers", "octavia_pool_backup_members"),
    ("haproxy_backend_current_queue", "octavia_pool_current_queue"),
    ("haproxy_server_check_failures_total", "octavia_member_check_failures_total"),
    ("haproxy_server_server_aborts_total", "octavia_member_server_aborts_total"),
    ("haproxy_process_uptime_seconds", None),
    ("haproxy_backend_check_failures_total", None),
    ("haproxy_frontend_weight", None),
    ("haproxy_sticktable_size", None),
    ("go_gc_duration_seconds", None),
])
def test_octavia_name(haproxy: str, octavia: str | None) -> None:
    assert octavia_name(haproxy) == octavia


def test_text_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ValueError):
        render("3955\r\nhaproxy_process_nbthread 1\n")
