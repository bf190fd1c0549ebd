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
* :mod:`.view_backends`: one backend per pool, with members, health monitor and persistence.

A disabled load balancer keeps its ``global`` section and backends but has no frontends: the
stats socket keeps a config without frontends valid and running.
"""

from __future__ import annotations

from dataclasses import dataclass

from lbaas.core.tree import LoadBalancerTree
from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy.view_backends import (
    DEFAULT_TIMEOUT_CONNECT_MS,
    DEFAULT_TIMEOUT_DATA_MS,
    transform_pool,
)
from lbaas.drivers.haproxy.view_frontends import transform_listener
from lbaas.drivers.haproxy.view_selection import (
    View,
    listeners_using,
    rendered_pools,
    served_listeners,
)

__all__ = ["DEFAULT_MAX_CONNECTIONS", "ConfigRuntimePaths", "View", "build_view"]

# Cap of the global maxconn, and the maxconn of an unlimited frontend. HAProxy needs about two
# file descriptors per connection and refuses to start when the hard RLIMIT_NOFILE is lower
# (8000 fits the 20000 of a default container; haproxy -c does not notice).
DEFAULT_MAX_CONNECTIONS = 8000
MIN_GLOBAL_MAXCONN = 1000
HARD_STOP_AFTER = "2m"  # how long an old worker may drain connections after a reload
DEFAULT_TIMEOUT_CHECK_MS = 5000


@dataclass(frozen=True)
class ConfigRuntimePaths:
    """The runtime files haproxy.cfg names in its ``global`` section. The process manager decides
    where they are (:class:`lbaas.drivers.haproxy.state_paths.StatePaths`)."""

    stats_socket: str  # absolute path of the admin stats socket (at most 107 bytes)
    server_state_file: str  # absolute path of the file `show servers state` is saved to


def build_view(
    tree: LoadBalancerTree,
    paths: ConfigRuntimePaths,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> View:
    """Transform ``tree`` into the plain, validated dicts the templates render."""
    esc.int_in_range(max_connections, 1, 2**31 - 1, "max_connections")
    lb_id = esc.config_id(tree.id, "load balancer id")
    vip = esc.ip_address(tree.vip_address, "VIP address")
    pools = rendered_pools(tree.pools)
    listeners = served_listeners(tree)
    esc.check_unique((listener.protocol_port for listener in listeners), "listener protocol_port")
    frontends = [
        transform_listener(listener, vip, pools, max_connections) for listener in listeners
    ]
    esc.check_unique((frontend["id"] for frontend in frontends), "listener id")
    backends = [
        transform_pool(pool, listeners_using(pool.id, listeners, pools), vip)
        for pool in pools.values()
    ]
    view = {
        "global": _transform_global(lb_id, paths, frontends, max_connections),
        "defaults": {
            "timeout_connect": DEFAULT_TIMEOUT_CONNECT_MS,
            "timeout_data": DEFAULT_TIMEOUT_DATA_MS,
            "timeout_check": DEFAULT_TIMEOUT_CHECK_MS,
        },
        "frontends": frontends,
        "backends": backends,
    }
    _refuse_control_chars_in(view, "view")
    return view


def _transform_global(
    lb_id: str, paths: ConfigRuntimePaths, frontends: list[View], max_connections: int
) -> View:
    wanted = sum(frontend["maxconn"] for frontend in frontends)
    return {
        "lb_id": lb_id,
        "maxconn": min(max_connections, max(MIN_GLOBAL_MAXCONN, wanted)),
        "hard_stop_after": HARD_STOP_AFTER,
        "stats_socket": esc.runtime_path(
            paths.stats_socket, "stats socket path", esc.MAX_UNIX_SOCKET_PATH
        ),
        "server_state_file": esc.runtime_path(paths.server_state_file, "server state file"),
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
