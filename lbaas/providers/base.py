"""The provider interface: what the API server calls, after commit, to make a change real.

A provider is told of every committed change (:class:`Change`: an action on one object of a load
balancer's tree) through :meth:`ProviderDriver.refresh`: for a load balancer device the unit of
work is "bring load balancer X to its desired state", whatever object changed. It places new load
balancers (:meth:`ProviderDriver.schedule`) and says which requested options it cannot build
(:meth:`ProviderDriver.unsupported_options`, a 400 before anything is written). Providers report
results through :class:`lbaas.services.statuses.StatusCallbacks`. Built once by
``lbaas.api.app.build_services`` and held in a :class:`lbaas.providers.registry.ProviderRegistry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from lbaas.core.context import RequestContext
from lbaas.core.kinds import Kind, change_method
from lbaas.db import models
from lbaas.services.statuses import StatusCallbacks


@dataclass(frozen=True)
class Change:
    """One committed change: ``action`` (create, update, delete, failover) on the ``kind``
    object ``obj_id`` under load balancer ``lb_id``."""

    action: str
    kind: Kind
    obj_id: str
    lb_id: str

    @property
    def method(self) -> str:
        """The agent RPC method naming this change (``update_member``)."""
        return change_method(self.action, self.kind)


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

    def shutdown(self) -> None:
        """Stop background work (called when the server stops); nothing by default."""
        return None
