"""Walking a load balancer's object tree (used by status updates, status views and payloads)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lbaas.db import models


def tree_objects(lb: models.LoadBalancer) -> Iterator[Any]:
    """Every object under ``lb`` (children before parents is not guaranteed), LB excluded."""
    for li in lb.listeners:
        yield li
        for policy in li.l7policies:
            yield policy
            yield from policy.rules
    for pool in lb.pools:
        yield pool
        yield from pool.members
        if pool.healthmonitor is not None:
            yield pool.healthmonitor
