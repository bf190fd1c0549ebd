"""The base class of providers: what the API server calls, after commit, to make a change real.

A provider is told of every committed change (:class:`lbaas.services.provider_api.Change`: an
action on one object of a load balancer's tree) through :meth:`ProviderDriver.refresh`: for a
load balancer device the unit of work is "bring load balancer X to its desired state", whatever
object changed. It places new load balancers (:meth:`ProviderDriver.schedule`) and says which
requested values it cannot build (:meth:`ProviderDriver.supports` over its
:attr:`ProviderDriver.limits`; a 400 before anything is written), and what an availability zone
profile may say to it (:attr:`ProviderDriver.zone_keys`). Providers report results
through :class:`lbaas.services.statuses.StatusCallbacks`. Built once by
``lbaas.api.app.build_services`` and held in a :class:`lbaas.providers.registry.ProviderRegistry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

from sqlalchemy.orm import Session

from lbaas.core.context import RequestContext
from lbaas.core.kinds import Kind
from lbaas.db import models
from lbaas.services.capabilities import Limit, Requested, ZoneKey, zone_data_refusal
from lbaas.services.provider_api import Change
from lbaas.services.statuses import StatusCallbacks


class ProviderDriver(ABC):
    """Base class of providers (each one is a :class:`lbaas.services.provider_api.Provider`)."""

    name: str = ""
    description: str = ""
    limits: Mapping[tuple[Kind, str], Limit] = {}
    """(kind, attribute) -> the values this provider builds; unlisted attributes are built
    whatever their value."""
    zone_keys: Mapping[str, ZoneKey] = {}
    """What the keys of an availability zone profile's data mean to this provider (its
    availability zone capabilities); no other key is accepted."""

    def __init__(self, status: StatusCallbacks) -> None:
        self.status = status

    @abstractmethod
    def refresh(self, ctx: RequestContext, change: Change) -> None:
        """Bring load balancer ``change.lb_id`` to its desired state (asynchronously is fine)."""

    def schedule(self, session: Session, lb: models.LoadBalancer) -> None:
        """Place a new load balancer (inside its create transaction); nothing by default."""
        return None

    def place_copies(self, session: Session, lb: models.LoadBalancer) -> None:
        """Create the copies a new ``lb`` runs as (its topology's), once its row and VIP exist
        (same transaction). Nothing by default: the provider keeps no copies."""
        return None

    def place_failover(self, session: Session, lb: models.LoadBalancer) -> None:
        """Choose where a failover rebuilds ``lb`` (inside the failover transaction, after the
        load balancer was taken); may refuse with an API error. Where it is, by default."""
        return None

    def place_amphora_failover(self, session: Session, lb: models.LoadBalancer,
                               amphora: models.Amphora) -> None:
        """Choose where a failover of one copy of ``lb`` rebuilds it (inside the failover
        transaction, after the load balancer was taken); may refuse with an API error. By
        default the whole load balancer fails over (:meth:`place_failover`)."""
        self.place_failover(session, lb)

    def supports(self, asked: Requested) -> str | None:
        """None when this provider applies ``asked``, else why not (the 400 says it)."""
        limit = self.limits.get((asked.kind, asked.attribute))
        if limit is None or limit.applies(asked.value):
            return None
        return limit.reason

    def availability_zone_capabilities(self) -> dict[str, str]:
        """Key -> description of what ``availability_zone_data`` may say to this provider."""
        return {name: key.description for name, key in sorted(self.zone_keys.items())}

    def availability_zone_refusal(self, data: object) -> str | None:
        """None when this provider accepts ``data`` (a profile's parsed
        ``availability_zone_data``), else why not."""
        return zone_data_refusal(self.zone_keys, data)

    def shutdown(self) -> None:
        """Stop background work (called when the server stops); nothing by default."""
        return None
