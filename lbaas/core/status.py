"""Provisioning and operating statuses (Octavia's values) and the state machine's groups.

Provisioning: PENDING_CREATE/UPDATE/DELETE -> ACTIVE or ERROR (DELETED only in Octavia's
history). Operating: what health checks observe, rolled up from members to the load balancer.
Both are ``StrEnum``: a member is its wire string, so rows, views and payloads hold plain strings.
"""

from __future__ import annotations

from enum import StrEnum


class Provisioning(StrEnum):
    ACTIVE = "ACTIVE"
    DELETED = "DELETED"
    ERROR = "ERROR"
    PENDING_CREATE = "PENDING_CREATE"
    PENDING_UPDATE = "PENDING_UPDATE"
    PENDING_DELETE = "PENDING_DELETE"


class Operating(StrEnum):
    ONLINE = "ONLINE"
    DRAINING = "DRAINING"
    OFFLINE = "OFFLINE"
    DEGRADED = "DEGRADED"
    ERROR = "ERROR"
    NO_MONITOR = "NO_MONITOR"


PENDING = (Provisioning.PENDING_CREATE, Provisioning.PENDING_UPDATE,
           Provisioning.PENDING_DELETE)
"""A load balancer with any of these is busy: further changes are 409."""
MUTABLE = (Provisioning.ACTIVE,)
"""A load balancer may take a change only from these."""
DELETABLE = (Provisioning.ACTIVE, Provisioning.ERROR)
"""A load balancer may be deleted (or failed over) from these."""

