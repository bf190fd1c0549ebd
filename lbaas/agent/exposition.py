"""HAProxy's exporter text of many load balancers, relabelled into one Prometheus exposition.

Pure text in, text out; used by :mod:`lbaas.agent.metrics_collector` for the agent's metrics
endpoint (and by its unit tests). In our haproxy.cfg a frontend is named after its listener, a
backend after its pool and a server after its member (:mod:`lbaas.drivers.haproxy.view`), so
the label contract is:

* ``haproxy_frontend_*``: ``proxy`` becomes ``listener_id``;
* ``haproxy_backend_*``: ``proxy`` becomes ``pool_id``;
* ``haproxy_server_*``: ``proxy`` becomes ``pool_id`` and ``server`` ``member_id``;
* each also gets ``loadbalancer_id`` and ``project_id``; other labels (``state``, ``code``)
  stay as they are.

A series of a proxy or server the tree does not name (the exporter's own frontend
``lbaas_exporter``, anything else) is dropped, and so is every metric not in :data:`KEPT`.
The metric names are HAProxy's, unchanged; each family's HELP and TYPE lines appear once, then
the samples of every load balancer (Prometheus refuses a family split in two).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lbaas.core.tree import LoadBalancerTree

_COMMON = ("current_sessions", "max_sessions", "limit_sessions", "sessions_total",
           "bytes_in_total", "bytes_out_total", "max_session_rate", "internal_errors_total",
           "http_responses_total", "status")
_UPSTREAM = ("current_queue", "max_queue", "connection_errors_total", "response_errors_total",
             "retry_warnings_total", "redispatch_warnings_total", "client_aborts_total",
             "server_aborts_total", "check_up_down_total", "check_last_change_seconds",
             "downtime_seconds_total", "queue_time_average_seconds",
             "connect_time_average_seconds", "response_time_average_seconds",
             "total_time_average_seconds", "max_queue_time_seconds",
             "max_connect_time_seconds", "max_response_time_seconds", "weight")
KEPT: frozenset[str] = frozenset(
    [f"haproxy_frontend_{name}" for name in (
        *_COMMON, "limit_session_rate", "connections_total", "connections_rate_max",
        "http_requests_total", "http_requests_rate_max", "request_errors_total",
        "requests_denied_total", "responses_denied_total", "denied_connections_total",
        "denied_sessions_total")]
    + [f"haproxy_backend_{name}" for name in (
        *_COMMON, *_UPSTREAM, "active_servers", "backup_servers", "http_requests_total",
        "requests_denied_total", "responses_denied_total", "loadbalanced_total")]
    + [f"haproxy_server_{name}" for name in (
        *_COMMON, *_UPSTREAM, "queue_limit", "check_status", "check_code",
        "check_duration_seconds", "check_failures_total", "loadbalanced_total")]
)
"""HAProxy's metrics the agent serves (issue 13's list: bytes, sessions, HTTP responses by
class, errors, queue, checks, server status, active/backup servers, retries, times); haproxy
2.6's exporter filters by scope only, so the rest is dropped here."""

_PROXY = 'proxy="'
_SERVER = ',server="'


def escape_label_value(value: str) -> str:
    """``value`` as a label value in the text format: backslash, double quote and line feed
    escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(**pairs: str) -> str:
    """``name="value",...`` with every value escaped (names are ours, plain identifiers)."""
    return ",".join(f'{name}="{escape_label_value(value)}"' for name, value in pairs.items())


@dataclass(frozen=True)
class Owner:
    """What one load balancer's series are relabelled with: the start of the label set that
    replaces ``{proxy="..."`` (and ``,server="..."``), for every proxy and server its tree
    names."""

    loadbalancer_id: str
    project_id: str
    frontends: dict[str, str] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)
    servers: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def of(cls, tree: LoadBalancerTree) -> Owner:
        """The relabelling of ``tree``'s listeners, pools and members."""
        base = labels(loadbalancer_id=tree.id, project_id=tree.project_id)
        return cls(
            loadbalancer_id=tree.id,
            project_id=tree.project_id,
            frontends={listener.id: "{" + base + "," + labels(listener_id=listener.id)
                       for listener in tree.listeners},
            backends={pool.id: "{" + base + "," + labels(pool_id=pool.id)
                      for pool in tree.pools},
            servers={(pool.id, member.id): "{" + base + ","
                     + labels(pool_id=pool.id, member_id=member.id)
                     for pool in tree.pools for member in pool.members},
        )


class Exposition:
    """Families gathered from many load balancers, rendered once by :meth:`text`."""

    def __init__(self) -> None:
        self._heads: dict[str, list[str]] = {}  # name -> its "# HELP" and "# TYPE" lines
        self._samples: dict[str, list[str]] = {}

    def add_haproxy(self, text: str, owner: Owner) -> None:
        """Add the kept, relabelled series of one load balancer's exporter ``text``."""
        # The exporter writes each family as one block starting with its HELP line: a
        # dropped family is skipped whole, without looking at its samples.
        for block in text.split("# HELP ")[1:]:
            name = block[:block.find(" ")]
            if name not in KEPT:
                continue
            lines = block.split("\n")
            head = self._heads.get(name)
            if head is None:
                self._heads[name] = ["# HELP " + lines[0], lines[1]]
            family = self._samples.get(name)
            if family is None:
                family = self._samples[name] = []
            scope = name[8]  # haproxy_[f]rontend, [b]ackend, [s]erver
            table: dict[str, str] = owner.backends if scope == "b" else owner.frontends
            for line in lines[2:]:
                brace = line.find("{")
                if brace < 0 or not line.startswith(_PROXY, brace + 1):
                    continue  # the empty line at the end, or an unknown shape
                start = brace + 1 + len(_PROXY)
                quote = line.find('"', start)
                proxy = line[start:quote]
                if scope == "s":
                    if not line.startswith(_SERVER, quote + 1):
                        continue
                    start = quote + 1 + len(_SERVER)
                    quote = line.find('"', start)
                    prefix = owner.servers.get((proxy, line[start:quote]))
                else:
                    prefix = table.get(proxy)
                if prefix is not None:
                    family.append(name + prefix + line[quote + 1:])

    def add_family(self, name: str, help_text: str, kind: str, lines: Iterable[str]) -> None:
        """Add a family of our own (``lines`` are whole sample lines, already escaped)."""
        self._heads[name] = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        self._samples.setdefault(name, []).extend(lines)

    def text(self) -> str:
        """The exposition (text format 0.0.4): families with samples, in first-seen order."""
        out: list[str] = []
        for name, lines in self._samples.items():
            if lines:
                out += self._heads.get(name, [])
                out += lines
        out.append("")
        return "\n".join(out)


def relabel(text: str, owner: Owner) -> str:
    """One load balancer's exporter ``text``, relabelled and filtered (see the module)."""
    exposition = Exposition()
    exposition.add_haproxy(text, owner)
    return exposition.text()
