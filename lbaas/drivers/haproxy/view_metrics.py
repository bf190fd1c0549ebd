"""The haproxy.cfg parts of a PROMETHEUS listener: where its frontend sends every request.

Part of the view builder (:func:`lbaas.drivers.haproxy.view.build_view`). The listener's frontend
(:mod:`.view_frontends`: bind, maxconn, timeouts, allowed_cidrs like any listener) rewrites each
request's path to ``/loadbalancers/<load balancer id>`` and hands it to a backend of its own,
``lbaas_metrics_<listener id>``, whose one server is the agent's UNIX socket
(:mod:`lbaas.agent.metrics.prometheus_listener`) with the listener's ``timeout_member_connect`` and
``timeout_member_data``. The path comes from haproxy.cfg, never from the client: the agent answers
with the metrics of this load balancer only. The ``lbaas_`` prefix keeps the backend out of the
metrics (:data:`.octavia_metrics.INTERNAL_PREFIX`).
"""

from __future__ import annotations

from lbaas.core.tree import ListenerNode
from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.octavia_metrics import INTERNAL_PREFIX
from lbaas.drivers.haproxy.view_selection import View

__all__ = ["METRICS_PATH_PREFIX", "METRICS_PROTOCOL", "metrics_backend", "metrics_frontend"]

METRICS_PROTOCOL = "PROMETHEUS"
METRICS_PATH_PREFIX = "/loadbalancers/"
"""The path the agent's service reads the load balancer id from."""


def metrics_frontend(listener: ListenerNode, lb_id: str) -> View:
    """What a PROMETHEUS listener's frontend adds: the path it sets and its backend."""
    return {
        "path": METRICS_PATH_PREFIX + esc.config_id(lb_id, "load balancer id"),
        "backend": _backend_name(listener),
    }


def metrics_backend(listener: ListenerNode, agent_socket: str | None) -> View:
    """The backend of a PROMETHEUS listener: the agent's socket ``agent_socket``."""
    if agent_socket is None:
        raise UnsafeConfigValue(
            f"PROMETHEUS listener {listener.id!r} needs the agent's metrics socket"
        )
    return {
        "id": _backend_name(listener),
        "socket": esc.runtime_path(agent_socket, "agent metrics socket", esc.MAX_UNIX_SOCKET_PATH),
        "timeout_connect": esc.timeout_ms(listener.timeout_member_connect,
                                          "timeout_member_connect"),
        "timeout_server": esc.timeout_ms(listener.timeout_member_data, "timeout_member_data"),
    }


def _backend_name(listener: ListenerNode) -> str:
    return f"{INTERNAL_PREFIX}metrics_{esc.config_id(listener.id, 'listener id')}"
