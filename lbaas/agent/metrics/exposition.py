"""HAProxy's exporter text of many load balancers, relabelled into one Prometheus exposition.

Pure text in, text out; used by :mod:`lbaas.agent.metrics.collector` for the agent's metrics
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
from dataclasses import dataclass

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

_SCOPES: dict[str, int] = {name: "fbs".index(name[8]) for name in KEPT}
"""Kept metric -> its scope: 0 frontend, 1 backend, 2 server (``haproxy_[f|b|s]...``)."""
_PROXY = '{proxy="'


def escape_label_value(value: str) -> str:
    """``value`` as a label value in the text format: backslash, double quote and line feed
    escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def labels(**pairs: str) -> str:
    """``name="value",...`` with every value escaped (names are ours, plain identifiers)."""
    return ",".join(f'{name}="{escape_label_value(value)}"' for name, value in pairs.items())


@dataclass(frozen=True)
class Owner:
    """What one load balancer's series are relabelled with: for every proxy (and server) its
    tree names, the exporter's start of a label set (``{proxy="..."``, ``,server="..."``) and
    what replaces it."""

    loadbalancer_id: str
    project_id: str
    frontends: tuple[tuple[str, str], ...] = ()
    backends: tuple[tuple[str, str], ...] = ()
    servers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, tree: LoadBalancerTree) -> Owner:
        """The relabelling of ``tree``'s listeners, pools and members."""
        base = "{" + labels(loadbalancer_id=tree.id, project_id=tree.project_id) + ","
        return cls(
            loadbalancer_id=tree.id,
            project_id=tree.project_id,
            frontends=tuple((f'{_PROXY}{listener.id}"', base + labels(listener_id=listener.id))
                            for listener in tree.listeners),
            backends=tuple((f'{_PROXY}{pool.id}"', base + labels(pool_id=pool.id))
                           for pool in tree.pools),
            servers=tuple((f'{_PROXY}{pool.id}",server="{member.id}"',
                           base + labels(pool_id=pool.id, member_id=member.id))
                          for pool in tree.pools for member in pool.members),
        )


class Exposition:
    """Families gathered from many load balancers, rendered once by :meth:`text`."""

    def __init__(self) -> None:
        self._heads: dict[str, str] = {}  # name -> its "# HELP" and "# TYPE" lines
        self._samples: dict[str, list[str]] = {}  # name -> blocks of sample lines

    def add_haproxy(self, text: str, owner: Owner) -> None:
        """Add the kept, relabelled series of one load balancer's exporter ``text``.

        The exporter writes each family as one block (HELP, TYPE, samples): a dropped family
        is skipped whole, and a kept one relabelled by one replace per proxy or server of the
        tree (string methods, not a loop over lines: a scrape of 1,000 load balancers
        relabels about 150,000 lines). What still names a ``proxy`` afterwards is no proxy
        of the tree (the exporter's own frontend): its lines are cut out."""
        tables = (owner.frontends, owner.backends, owner.servers)
        heads = self._heads
        samples = self._samples
        text = text.rstrip("\n") + "\n"  # every block's samples end with one line feed
        for block in text.split("# HELP ")[1:]:
            name = block[:block.find(" ")]
            scope = _SCOPES.get(name)
            if scope is None:
                continue
            start = block.find("\n", block.find("\n# TYPE ") + 1) + 1
            if start <= 0:
                continue  # no TYPE line: not the exporter's format
            body = block[start:]
            for needle, replacement in tables[scope]:
                body = body.replace(needle, replacement)
            while (found := body.find(_PROXY)) >= 0:
                line_start = body.rfind("\n", 0, found) + 1
                body = body[:line_start] + body[body.find("\n", found) + 1:]
            if len(body) < 2:
                continue  # nothing left, or an empty line
            family = samples.get(name)
            if family is None:
                heads[name] = "# HELP " + block[:start]
                family = samples[name] = []
            family.append(body)

    def add_family(self, name: str, help_text: str, kind: str, lines: Iterable[str]) -> None:
        """Add a family of our own (``lines`` are whole sample lines, already escaped)."""
        self._heads[name] = f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n"
        self._samples.setdefault(name, []).extend(line + "\n" for line in lines)

    def text(self) -> str:
        """The exposition (text format 0.0.4): families with samples, in first-seen order."""
        out: list[str] = []
        for name, blocks in self._samples.items():
            if blocks:
                out.append(self._heads[name])
                out += blocks
        return "".join(out)


def relabel(text: str, owner: Owner) -> str:
    """One load balancer's exporter ``text``, relabelled and filtered (see the module)."""
    exposition = Exposition()
    exposition.add_haproxy(text, owner)
    return exposition.text()
