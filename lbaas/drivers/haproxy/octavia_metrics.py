"""HAProxy's exporter text renamed to the series Octavia's PROMETHEUS listeners serve.

Pure functions, called by the agent's PROMETHEUS listener service
(:mod:`lbaas.agent.metrics.prometheus_listener`) on the text :func:`.exporter.scrape` read from
one load balancer's haproxy. Octavia's names: ``haproxy_process_*`` becomes
``octavia_loadbalancer_*`` (its memory pools ``octavia_memory_pool_*``), frontends
``octavia_listener_*`` (label ``proxy`` renamed ``listener``), backends ``octavia_pool_*``
(``pool``), servers ``octavia_member_*`` (``pool`` and ``member``). Only the series Octavia's
proxy passes on are kept, and the sections lbaas adds for itself (named ``lbaas_...``; tenant
objects are named by their UUIDs) are dropped: the exporter's own frontend and the backend a
PROMETHEUS listener forwards to. The PROMETHEUS listener's frontend is reported like any
listener, as in Octavia.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client.core import Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector, CollectorRegistry

__all__ = ["INTERNAL_PREFIX", "Usage", "octavia_families", "octavia_name", "render"]

INTERNAL_PREFIX = "lbaas_"
"""Sections lbaas adds to haproxy.cfg for itself are named so; their series are not reported."""

# The series Octavia's proxy reports, by HAProxy scope: the names after ``haproxy_<scope>_``.
_PROCESS = (
    "max_connections current_connections connections_total requests_total max_ssl_connections "
    "current_ssl_connections ssl_connections_total current_connection_rate "
    "limit_connection_rate max_connection_rate current_session_rate limit_session_rate "
    "max_session_rate current_ssl_rate limit_ssl_rate max_ssl_rate "
    "current_frontend_ssl_key_rate max_frontend_ssl_key_rate frontend_ssl_reuse "
    "current_backend_ssl_key_rate max_backend_ssl_key_rate ssl_cache_lookups_total "
    "ssl_cache_misses_total http_comp_bytes_in_total http_comp_bytes_out_total "
    "limit_http_comp listeners dropped_logs_total"
)
_MEMORY_POOLS = "pool_allocated_bytes pool_used_bytes pool_failures_total"
_HTTP_COMP = (
    "http_comp_bytes_in_total http_comp_bytes_out_total http_comp_bytes_bypassed_total "
    "http_comp_responses_total"
)
_FRONTEND = (
    "status current_sessions max_sessions limit_sessions sessions_total limit_session_rate "
    "max_session_rate connections_rate_max connections_total bytes_in_total bytes_out_total "
    "requests_denied_total responses_denied_total request_errors_total "
    "denied_connections_total denied_sessions_total failed_header_rewriting_total "
    "http_requests_rate_max http_requests_total http_responses_total "
    "intercepted_requests_total http_cache_lookups_total http_cache_hits_total " + _HTTP_COMP
)
_TIMES = (
    "queue_time_average_seconds connect_time_average_seconds response_time_average_seconds "
    "total_time_average_seconds max_queue_time_seconds max_connect_time_seconds "
    "max_response_time_seconds max_total_time_seconds"
)
_BACKEND_AND_SERVER = (
    "status current_sessions max_sessions limit_sessions sessions_total max_session_rate "
    "last_session_seconds current_queue max_queue connection_attempts_total "
    "connection_reuses_total bytes_in_total bytes_out_total responses_denied_total "
    "connection_errors_total response_errors_total retry_warnings_total "
    "redispatch_warnings_total failed_header_rewriting_total client_aborts_total "
    "check_up_down_total check_last_change_seconds downtime_seconds_total loadbalanced_total "
    "http_responses_total " + _TIMES
)
_BACKEND = (
    _BACKEND_AND_SERVER + " requests_denied_total http_requests_total http_cache_lookups_total "
    "http_cache_hits_total " + _HTTP_COMP
)
_SERVER = (
    _BACKEND_AND_SERVER + " queue_limit server_aborts_total weight check_failures_total "
    "current_throttle idle_connections_current idle_connections_limit"
)
# Where Octavia's name is not the scope's prefix followed by HAProxy's.
_BACKEND_RENAMES = {
    "server_aborts_total": "member_aborts_total",
    "active_servers": "active_members",
    "backup_servers": "backup_members",
}


@dataclass(frozen=True)
class _Scope:
    prefix: str  # octavia_<prefix>_<name>
    names: frozenset[str]
    labels: dict[str, str]  # HAProxy's label -> Octavia's


def _scope(prefix: str, names: str, labels: dict[str, str]) -> _Scope:
    return _Scope(prefix, frozenset(names.split()), labels)


_SCOPES = {
    "process": _scope("loadbalancer", _PROCESS, {}),
    "frontend": _scope("listener", _FRONTEND, {"proxy": "listener"}),
    "backend": _scope(
        "pool", _BACKEND + " " + " ".join(_BACKEND_RENAMES), {"proxy": "pool"}
    ),
    "server": _scope("member", _SERVER, {"proxy": "pool", "server": "member"}),
}
_PROXY_LABELS = ("proxy", "server")


@dataclass(frozen=True)
class Usage:
    """What the haproxy processes of the load balancer use, in percent (Octavia's
    ``octavia_loadbalancer_cpu`` and ``octavia_loadbalancer_memory``)."""

    cpu: float
    memory: float


def octavia_name(haproxy_name: str) -> str | None:
    """Octavia's name for a sample of HAProxy's named ``haproxy_name``; None when Octavia
    does not report it."""
    if not haproxy_name.startswith("haproxy_"):
        return None
    scope_name, _, rest = haproxy_name.removeprefix("haproxy_").partition("_")
    if scope_name == "process" and rest in _MEMORY_POOLS.split():
        return f"octavia_memory_{rest}"
    scope = _SCOPES.get(scope_name)
    if scope is None or rest not in scope.names:
        return None
    if scope_name == "backend":
        rest = _BACKEND_RENAMES.get(rest, rest)
    return f"octavia_{scope.prefix}_{rest}"


def octavia_families(exporter_text: str, usage: Usage | None = None) -> list[Metric]:
    """The families Octavia's proxy would serve for ``exporter_text`` (HAProxy's exporter, all
    scopes), ``usage`` first as Octavia does. Raises ValueError on text that does not parse."""
    families: list[Metric] = []
    if usage is not None:
        families.append(_gauge("octavia_loadbalancer_cpu",
                               "Load balancer CPU utilization (percentage).", usage.cpu))
        families.append(_gauge("octavia_loadbalancer_memory",
                               "Load balancer memory utilization (percentage).", usage.memory))
    for family in text_string_to_metric_families(exporter_text):
        renamed = _rename(family)
        if renamed is not None:
            families.append(renamed)
    return families


def render(exporter_text: str, usage: Usage | None = None) -> bytes:
    """:func:`octavia_families` in the Prometheus text format (0.0.4)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(octavia_families(exporter_text, usage)))
    return generate_latest(registry)


def _rename(family: Metric) -> Metric | None:
    # A counter family is named without its samples' "_total".
    suffix = "_total" if family.type == "counter" else ""
    new_name = octavia_name(family.name + suffix)
    if new_name is None:
        return None
    scope = _SCOPES[family.name.split("_")[1]]
    renamed = Metric(new_name.removesuffix(suffix), family.documentation, family.type)
    for sample in family.samples:
        if any(sample.labels.get(label, "").startswith(INTERNAL_PREFIX)
               for label in _PROXY_LABELS):
            continue
        labels = {scope.labels.get(key, key): value for key, value in sample.labels.items()}
        renamed.add_sample(new_name, labels, sample.value)
    return renamed


def _gauge(name: str, documentation: str, value: float) -> Metric:
    family = Metric(name, documentation, "gauge")
    family.add_sample(name, {}, round(value, 1))
    return family


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families
