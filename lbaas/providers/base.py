"""The provider interface: what the API server calls, after commit, to make a change real.

Methods mirror the agent RPC of the LBaaS v2 design (create/update/delete per object). Every one
funnels into :meth:`ProviderDriver.refresh` because for a load balancer device the unit of work is
"bring load balancer X to its desired state"; drivers override single methods only when they can do
better. Providers report results through :class:`lbaas.services.statuses.StatusCallbacks`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lbaas.core.context import RequestContext
from lbaas.db import models
from lbaas.services.statuses import StatusCallbacks

OBJECT_TYPES = ("loadbalancer", "listener", "pool", "member", "health_monitor", "l7policy",
                "l7rule")
ACTIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class Change:
    """One committed change: ``action`` on ``obj_type`` ``obj_id`` under load balancer ``lb_id``."""

    action: str
    obj_type: str
    obj_id: str
    lb_id: str


class ProviderDriver(ABC):
    """Base class of providers."""

    name: str = ""
    description: str = ""

    def __init__(self, status: StatusCallbacks) -> None:
        self.status = status

    @abstractmethod
    def refresh(self, ctx: RequestContext, change: Change) -> None:
        """Bring load balancer ``change.lb_id`` to its desired state (asynchronously is fine)."""

    def schedule(self, session: Session, lb: models.LoadBalancer) -> None:
        """Place a new load balancer (inside its create transaction); nothing by default."""
        return None

    def unsupported_options(self, request: dict[str, Any]) -> list[str]:
        """Options in a create/update request this provider cannot honour (-> 400)."""
        return []

    def dispatch(self, ctx: RequestContext, change: Change) -> None:
        """Call the per-object method for ``change``."""
        getattr(self, f"{change.action}_{change.obj_type}")(ctx, change)

    def failover_loadbalancer(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def shutdown(self) -> None:
        """Stop background work (called when the server stops); nothing by default."""
        return None

    # One method per object and action, as in the agent RPC; all default to refresh().
    def create_loadbalancer(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def update_loadbalancer(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def delete_loadbalancer(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def create_listener(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def update_listener(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def delete_listener(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def create_pool(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def update_pool(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def delete_pool(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def create_member(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def update_member(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def delete_member(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def create_health_monitor(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def update_health_monitor(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def delete_health_monitor(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def create_l7policy(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def update_l7policy(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def delete_l7policy(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def create_l7rule(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def update_l7rule(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)

    def delete_l7rule(self, ctx: RequestContext, change: Change) -> None:
        self.refresh(ctx, change)
