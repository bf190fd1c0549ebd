"""The view of haproxy.cfg: the load balancer tree turned into plain, validated dicts.

:func:`build_view` is the first of the renderer's two steps (the second, laying the view out with
Jinja templates, is :mod:`.render`). The view holds only validated values: ids, numbers, HAProxy
keywords, and tenant strings that passed their grammar check in :mod:`.escaping`. Names,
descriptions and tags never reach it. Anything that cannot be rendered safely raises
:class:`.escaping.UnsafeConfigValue`. No file or network I/O happens here.

The work is shared out by section:

* this module: the ``global`` and ``defaults`` sections, and the checks across sections (unique
  listener ports and ids, no line break anywhere in the view);
* :mod:`.view_selection`: which listeners, pools and L7 policies are rendered, in which order;
* :mod:`.view_frontends`: one frontend per listener, L7 policies and rules as ACLs;
* :mod:`.view_backends`: one backend per pool, with members, health monitor and persistence;
* :mod:`.view_tls`: the TLS versions, ALPN and ciphers of TERMINATED_HTTPS frontends and
  re-encrypting pools, whose certificate files (:mod:`.tls_files`) the caller plans and passes
  in as ``tls_files``.

An ACTIVE_STANDBY load balancer runs two copies (:class:`lbaas.core.tree.AmphoraNode`), each
rendered with ``copy`` naming itself. Their stick tables (SOURCE_IP and APP_COOKIE persistence)
are replicated by a ``peers`` section, so that a client keeps its member when keepalived moves
the VIP to the other copy:

* ``peers lbaas_peers`` lists every copy of the tree (a copy whose peer has no host yet still
  lists it: its ``vrrp_ip`` does not change) as ``peer <amphora id> <vrrp_ip>:1025``, in
  position order, so the two copies' configs differ only in their ``localpeer`` line;
* ``localpeer <own amphora id>`` in ``global`` (HAProxy 2.2 and later; the process manager passes
  no ``-L``) makes the copy's own ``peer`` line the address it listens on for its peer, and the
  other line the peer it connects to. The copy's ``vrrp_ip`` must be on its namespace's VIP
  interface when haproxy starts;
* every ``stick-table`` line ends with ``peers lbaas_peers``: an entry learnt by one copy is
  pushed to the other at once, and a copy whose haproxy starts afresh asks its peer for the
  whole table (``tests/functional/test_haproxy_peers.py`` shows both).

Without ``copy`` (a SINGLE load balancer) none of this is rendered.

A disabled load balancer keeps its ``global`` section and backends but has no frontends: the
stats socket keeps a config without frontends valid and running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lbaas.core.tree import AmphoraNode, LoadBalancerTree
from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy import logs
from lbaas.drivers.haproxy.tls_files import TlsFiles
from lbaas.drivers.haproxy.view_backends import (
    DEFAULT_TIMEOUT_CONNECT_MS,
    DEFAULT_TIMEOUT_DATA_MS,
    transform_pool,
)
from lbaas.drivers.haproxy.view_frontends import transform_listener
from lbaas.drivers.haproxy.view_metrics import METRICS_PROTOCOL, metrics_backend, metrics_frontend
from lbaas.drivers.haproxy.view_selection import (
    View,
    listeners_using,
    rendered_pools,
    served_listeners,
)

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "EXPORTER_FRONTEND",
    "PEERS_SECTION",
    "PEER_PORT",
    "ConfigRuntimePaths",
    "View",
    "build_view",
    "peer_name",
]

# Cap of the global maxconn, and the maxconn of an unlimited frontend. HAProxy needs about two
# file descriptors per connection and refuses to start when the hard RLIMIT_NOFILE is lower
# (8000 fits the 20000 of a default container; haproxy -c does not notice).
DEFAULT_MAX_CONNECTIONS = 8000
MIN_GLOBAL_MAXCONN = 1000
HARD_STOP_AFTER = "2m"  # how long an old worker may drain connections after a reload
DEFAULT_TIMEOUT_CHECK_MS = 5000
PEERS_SECTION = "lbaas_peers"  # the peers section of an ACTIVE_STANDBY pair's stick tables
PEER_PORT = 1025  # TCP port of the peers protocol on each copy's vrrp_ip (as Octavia)
EXPORTER_FRONTEND = "lbaas_exporter"
"""The frontend serving HAProxy's Prometheus exporter on a UNIX socket (listener frontends are
named after listener ids, UUIDs, so the name cannot collide); its own series are dropped by the
agent's metrics (:mod:`lbaas.drivers.haproxy.exporter`)."""


@dataclass(frozen=True)
class ConfigRuntimePaths:
    """The runtime files haproxy.cfg names in its ``global`` section. The process manager decides
    where they are (:class:`lbaas.drivers.haproxy.state_paths.StatePaths`)."""

    stats_socket: str  # absolute path of the admin stats socket (at most 107 bytes)
    server_state_file: str  # absolute path of the file `show servers state` is saved to
    metrics_socket: str | None = None
    """Absolute path of the UNIX socket HAProxy's Prometheus exporter serves on (the frontend
    :data:`EXPORTER_FRONTEND`); None renders no exporter."""
    listener_metrics_socket: str | None = None
    """Absolute path of the agent's UNIX socket PROMETHEUS listeners forward to
    (:mod:`.view_metrics`); needed when the tree has one."""
    log_socket: str | None = None
    """Absolute path of the agent's stream UNIX socket haproxy's event ring forwards to
    (:mod:`.logs`: health checks, drops); None renders no ``log`` line."""
    access_log_socket: str | None = None
    """Absolute path of the agent's stream UNIX socket haproxy's access ring forwards to
    (:mod:`.logs`); None (or no ``log_socket``) logs no request."""


def build_view(
    tree: LoadBalancerTree,
    paths: ConfigRuntimePaths,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    copy: AmphoraNode | None = None,
    tls_files: TlsFiles | None = None,
    access_logs: bool = True,
    access_log_fields: Sequence[str] = tuple(logs.FIELDS),
) -> View:
    """Transform ``tree`` into the plain, validated dicts the templates render.

    ``copy``: the copy of an ACTIVE_STANDBY load balancer this config is for (one of
    ``tree.amphorae``); its stick tables are then shared with the other copies through a
    ``peers`` section. None for a SINGLE load balancer (no ``peers`` section).
    ``tls_files``: the TLS files planned for ``tree`` (:func:`.tls_files.plan_tls_files`);
    a TERMINATED_HTTPS listener or a pool with tls_enabled cannot be rendered without them.
    ``access_logs``: False logs no listener's requests (``[access_log] enabled``); with
    ``paths.log_socket`` unset nothing is logged at all. ``access_log_fields``: the fields of
    each access line (``[access_log] fields``, checked by :func:`.logs.select_fields`).
    """
    esc.int_in_range(max_connections, 1, 2**31 - 1, "max_connections")
    lb_id = esc.config_id(tree.id, "load balancer id")
    vip = esc.ip_address(tree.vip_address, "VIP address")
    peers = _transform_peers(tree, copy) if copy is not None else None
    pools = rendered_pools(tree.pools)
    listeners = served_listeners(tree)
    esc.check_unique((listener.protocol_port for listener in listeners), "listener protocol_port")
    frontends = [
        transform_listener(listener, vip, pools, max_connections, tls_files)
        for listener in listeners
    ]
    esc.check_unique((frontend["id"] for frontend in frontends), "listener id")
    metrics_backends = []
    for listener, frontend in zip(listeners, frontends, strict=True):
        if listener.protocol == METRICS_PROTOCOL:
            frontend["metrics"] = metrics_frontend(listener, lb_id)
            metrics_backends.append(metrics_backend(listener, paths.listener_metrics_socket))
        logged = (access_logs and paths.log_socket is not None
                  and paths.access_log_socket is not None and listener.access_log)
        frontend["access_log"] = (
            _access_log(frontend, access_log_fields, lb_id, tree.project_id) if logged else None
        )
        frontend["no_log"] = paths.log_socket is not None and not logged
    backends = [
        transform_pool(
            pool,
            listeners_using(pool.id, listeners, pools),
            vip,
            peers=None if peers is None else peers["name"],
            tls_files=tls_files,
        )
        for pool in pools.values()
    ]
    view = {
        "global": _transform_global(
            lb_id, paths, frontends, max_connections, None if peers is None else peers["local"]
        ),
        "defaults": {
            "timeout_connect": DEFAULT_TIMEOUT_CONNECT_MS,
            "timeout_data": DEFAULT_TIMEOUT_DATA_MS,
            "timeout_check": DEFAULT_TIMEOUT_CHECK_MS,
            "log": paths.log_socket is not None,
        },
        "peers": peers,
        "frontends": frontends,
        "backends": backends,
        "metrics_backends": metrics_backends,
    }
    _refuse_control_chars_in(view, "view")
    return view


def peer_name(copy: AmphoraNode) -> str:
    """The name of ``copy`` in the ``peers`` section (and its ``localpeer``): its amphora id."""
    return esc.config_id(copy.id, "amphora id")


def _transform_peers(tree: LoadBalancerTree, copy: AmphoraNode) -> View:
    """The ``peers`` section of ``copy``: every copy of the tree at its vrrp_ip, and which of them
    this haproxy is."""
    local = peer_name(copy)
    copies = sorted(tree.amphorae, key=lambda amphora: (amphora.position, amphora.id))
    names = [peer_name(amphora) for amphora in copies]
    addresses = [
        esc.ip_address(amphora.vrrp_ip, f"vrrp_ip of amphora {amphora.id!r}") for amphora in copies
    ]
    esc.check_unique(names, "amphora id")
    esc.check_unique(addresses, "amphora vrrp_ip")
    if local not in names:
        raise esc.UnsafeConfigValue(
            f"amphora {local!r} is not a copy of load balancer {tree.id!r}"
        )
    return {
        "name": PEERS_SECTION,
        "local": local,
        "peers": [
            {"name": name, "address": esc.format_host_port(address, PEER_PORT)}
            for name, address in zip(names, addresses, strict=True)
        ],
    }


def _transform_global(
    lb_id: str,
    paths: ConfigRuntimePaths,
    frontends: list[View],
    max_connections: int,
    local_peer: str | None,
) -> View:
    wanted = sum(frontend["maxconn"] for frontend in frontends)
    return {
        "lb_id": lb_id,
        "local_peer": local_peer,
        "maxconn": min(max_connections, max(MIN_GLOBAL_MAXCONN, wanted)),
        "hard_stop_after": HARD_STOP_AFTER,
        "stats_socket": esc.runtime_path(
            paths.stats_socket, "stats socket path", esc.MAX_UNIX_SOCKET_PATH
        ),
        "server_state_file": esc.runtime_path(paths.server_state_file, "server state file"),
        "log": None if paths.log_socket is None else {
            "socket": esc.runtime_path(
                paths.log_socket, "log socket path", esc.MAX_UNIX_SOCKET_PATH
            ),
            "tag": lb_id,
            "ring": logs.RING_NAME,
            "maxlen": logs.MAX_LINE,
            "size": logs.EVENT_RING_SIZE,
            "timeout_server": logs.RING_TIMEOUT_SERVER,
            "access": None if paths.access_log_socket is None else {
                "ring": logs.ACCESS_RING_NAME,
                "socket": esc.runtime_path(paths.access_log_socket, "access log socket path",
                                           esc.MAX_UNIX_SOCKET_PATH),
                "maxlen": logs.ACCESS_MAX_LINE,
                "size": logs.RING_SIZE,
            },
        },
        "exporter": None if paths.metrics_socket is None else {
            "name": EXPORTER_FRONTEND,
            "socket": esc.runtime_path(
                paths.metrics_socket, "metrics socket path", esc.MAX_UNIX_SOCKET_PATH
            ),
        },
    }


def _access_log(frontend: View, fields: Sequence[str], lb_id: str, project_id: str) -> View:
    """The logging lines of a frontend whose requests are logged (formats: :mod:`.logs`)."""
    mode = frontend["mode"]
    tls = frontend["tls"]
    return {
        "ring": logs.ACCESS_RING_NAME,
        "max_line": logs.ACCESS_MAX_LINE,
        "format": logs.access_log_format(
            logs.select_fields(fields), protocol=mode, loadbalancer_id=lb_id,
            project_id=project_id,
            client_certificate=tls is not None and tls["verify"] is not None,
        ),
        "unique_id_format": logs.unique_id_format(lb_id),
        "unique_id_header": logs.REQUEST_ID_HEADER if mode == "http" else None,
    }


def _refuse_control_chars_in(value: object, where: str) -> None:
    """Defence in depth: no string anywhere in the view may hold a line break."""
    if isinstance(value, str):
        esc.refuse_control_chars(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_control_chars_in(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _refuse_control_chars_in(item, where)
