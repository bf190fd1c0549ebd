"""The copies of a load balancer (Octavia's "amphorae"): their roles, statuses and VRRP constants.

An ACTIVE_STANDBY load balancer runs as two copies on two agents, each with its own address on
the VIP subnet (``vrrp_ip``) and a keepalived that holds the VIP on one of them. The server
stores one :class:`lbaas.db.models.Amphora` row per copy (placement, role, status), sends them to
the agents in the tree (:class:`lbaas.core.tree.AmphoraNode`) and shows them through Octavia's
amphora API. A SINGLE load balancer is one STANDALONE copy on its agent (``agent_id``).
"""

from __future__ import annotations

from enum import StrEnum


class Topology(StrEnum):
    SINGLE = "SINGLE"
    ACTIVE_STANDBY = "ACTIVE_STANDBY"


class Role(StrEnum):
    """What a copy is doing: MASTER holds the VIP, BACKUP waits; STANDALONE is a SINGLE load
    balancer's only copy. FAULT: keepalived's check failed (this copy's haproxy does not
    answer), the copy does not take the VIP."""

    MASTER = "MASTER"
    BACKUP = "BACKUP"
    STANDALONE = "STANDALONE"
    FAULT = "FAULT"


class AmphoraStatus(StrEnum):
    """Octavia's amphora statuses, as lbaas uses them: PENDING_CREATE until the copy's agent
    reports it built, ALLOCATED while it serves its load balancer, ERROR when its agent is dead
    or could not build it (a replacement is then built elsewhere)."""

    PENDING_CREATE = "PENDING_CREATE"
    ALLOCATED = "ALLOCATED"
    ERROR = "ERROR"
    PENDING_DELETE = "PENDING_DELETE"
    DELETED = "DELETED"


COPIES = {Topology.SINGLE: 1, Topology.ACTIVE_STANDBY: 2}
"""How many copies (agents) a load balancer of each topology runs on."""

VRRP_ID = 1
"""The VRRP virtual router id of every pair. VRRP is unicast between the two copies' own
addresses, so pairs never hear each other and need no distinct ids (Octavia also uses 1)."""
VRRP_INTERFACE = "eth0"
"""The interface VRRP runs on inside a copy's namespace (the VIP interface)."""
VRRP_PRIORITIES = (100, 90)
"""keepalived priority of the copy in position 0 and 1. Both start BACKUP with ``nopreempt``:
the priority only decides who wins when both start at once or a partition heals."""
