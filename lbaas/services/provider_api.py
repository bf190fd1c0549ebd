"""What the domain needs of a provider, and the change it tells one of.

The services (``lbaas/services``) see providers only through these protocols: a provider is told
of every committed :class:`Change` (:meth:`Provider.refresh`), places a new load balancer
(:meth:`Provider.schedule`) and chooses where a failover rebuilds it
(:meth:`Provider.place_failover`), says whether it builds one requested value
(:meth:`Provider.supports`) and what an availability zone profile may say to it
(:meth:`Provider.availability_zone_refusal`). The implementations live in ``lbaas/providers``
(``noop``, ``haproxy``), which import the services they report to, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from lbaas.core.context import RequestContext
from lbaas.core.errors import InvalidInput
from lbaas.core.kinds import Kind, change_method
from lbaas.db import models
from lbaas.services.capabilities import Requested


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


class Provider(Protocol):
    """One provider (see :class:`lbaas.providers.base.ProviderDriver`)."""

    name: str

    def refresh(self, ctx: RequestContext, change: Change) -> None: ...

    def schedule(self, session: Session, lb: models.LoadBalancer) -> None: ...

    def place_copies(self, session: Session, lb: models.LoadBalancer) -> None: ...

    def place_failover(self, session: Session, lb: models.LoadBalancer) -> None: ...

    def place_amphora_failover(self, session: Session, lb: models.LoadBalancer,
                               amphora: models.Amphora) -> None: ...

    def supports(self, asked: Requested) -> str | None: ...

    def availability_zone_capabilities(self) -> dict[str, str]: ...

    def availability_zone_refusal(self, data: object) -> str | None: ...


class Providers(Protocol):
    """The providers a server offers (see :class:`lbaas.providers.registry.ProviderRegistry`)."""

    def get(self, name: str | None) -> Provider: ...

    def names(self) -> list[str]: ...


def enabled_provider(providers: Providers, name: str) -> Provider:
    """The provider named ``name``; 400 with Octavia's words when it is not enabled."""
    if name not in providers.names():
        raise InvalidInput(f"Provider '{name}' is not enabled.")
    return providers.get(name)
