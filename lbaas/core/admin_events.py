"""Admin events: the per-load-balancer facts an operator cares about, logged to ``lbaas.admin``.

The agent manager (:mod:`lbaas.agent.manager`) and the haproxy namespace driver
(:mod:`lbaas.drivers.haproxy.namespace_driver`) call :func:`admin_event` for deploy results,
haproxy starts and reloads (with their duration), restarts of a dead haproxy or keepalived,
VRRP role changes and removals; the health-check transitions of members use the same logger with
``event = "member_status"``. Every record carries ``loadbalancer_id`` and ``event`` (plus
fields of its own: ``revision``, ``reason``, ``duration_s``, ``role``...) as ``extra``; the
request id comes from the context like on every line (:mod:`lbaas.core.request_ids`).

The records go to the normal log like any other; the agent process and the all-in-one also
write them to the admin log file (``[admin_log] file``,
:func:`lbaas.observability.admin_log.install_admin_log`). Lives in ``core`` because both the
agent and the drivers emit them.
"""

from __future__ import annotations

import enum
import logging

ADMIN_LOGGER = "lbaas.admin"
"""The logger of admin events; the admin log file's handler hangs on it."""

_LOG = logging.getLogger(ADMIN_LOGGER)


class Event(enum.StrEnum):
    """The ``event`` field of an admin log line."""

    DEPLOYED = "deployed"
    """A change (or a repair) built: the tree's ``revision`` runs."""
    DEPLOY_FAILED = "deploy_failed"
    """The load balancer went to ERROR (``reason``, at ``revision`` when known)."""
    HAPROXY_STARTED = "haproxy_started"
    HAPROXY_RELOADED = "haproxy_reloaded"
    HAPROXY_UPDATED = "haproxy_updated"
    """Member changes the running haproxy took through its runtime API, without a reload."""
    HAPROXY_RESTART = "haproxy_restart"
    """A dead haproxy was found: the agent builds it again."""
    KEEPALIVED_RESTART = "keepalived_restart"
    VRRP_ROLE = "vrrp_role"
    """The copy's keepalived role changed (``role``, ``previous``)."""
    REMOVED = "removed"
    MEMBER_STATUS = "member_status"
    """A member's health-check transition as haproxy logged it (``pool_id``, ``member_id``,
    ``status``, ``reason``), read by :mod:`lbaas.agent.access_logs.receiver`."""


def admin_event(event: Event, lb_id: str, message: str, *args: object,
                level: int = logging.INFO, **fields: object) -> None:
    """Log ``message % args`` on ``lbaas.admin`` with ``loadbalancer_id``, ``event`` and
    ``fields`` as structured fields of the line."""
    _LOG.log(level, message, *args,
             extra={"loadbalancer_id": lb_id, "event": str(event), **fields})
