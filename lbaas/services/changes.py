"""The shared steps of changing an object under a load balancer: find it (404 across projects),
take its load balancer (409 when busy), mark the object, queue the provider call.

Called by the per-kind services (listeners, pools, members, …); the kind of an object, and so
its label in messages and its name in the provider's change, comes from ``type(obj).kind``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from lbaas.core.errors import InvalidInput
from lbaas.core.status import Provisioning
from lbaas.db import models
from lbaas.services.capabilities import Requested, requested
from lbaas.services.provider_api import Provider
from lbaas.services.state import get_scoped, take_loadbalancer
from lbaas.services.work import Work


def lb_id_of(obj: Any) -> str:
    """The id of the load balancer an object belongs to."""
    if isinstance(obj, models.LoadBalancer):
        return obj.id
    if isinstance(obj, models.Listener | models.Pool):
        return obj.load_balancer_id
    if isinstance(obj, models.Member | models.HealthMonitor):
        return obj.pool.load_balancer_id
    if isinstance(obj, models.L7Policy):
        return obj.listener.load_balancer_id
    if isinstance(obj, models.L7Rule):
        return obj.l7policy.listener.load_balancer_id
    raise TypeError(f"not a load-balancing object: {obj!r}")


def find(work: Work, model: type[Any], obj_id: str) -> Any:
    """The object visible to the caller, or 404."""
    return get_scoped(work.session, model, obj_id, work.ctx.scope_project())


def begin_change(work: Work, obj: Any, action: str, request: BaseModel | None = None
                 ) -> models.LoadBalancer:
    """Take the object's load balancer and mark ``obj`` for ``action`` (update/delete); an
    update ``request`` must be one the load balancer's provider applies (else 400)."""
    lb = take_loadbalancer(work.session, lb_id_of(obj), None,
                           child=f"{obj.kind.label} {obj.id}")
    if request is not None:
        check_supported(work.providers.get(lb.provider), requested(obj.kind, request))
    obj.provisioning_status = (Provisioning.PENDING_DELETE if action == "delete"
                               else Provisioning.PENDING_UPDATE)
    if action == "update":
        obj.updated_at = models.utcnow()
    work.notify(lb, action, obj)
    return lb


def check_supported(provider: Provider, asked: Iterable[Requested]) -> None:
    """400 naming every requested value ``provider`` does not apply, and the provider."""
    problems = [f"{item.field} = {item.value!r} ({reason})" for item in asked
                if (reason := provider.supports(item)) is not None]
    if problems:
        raise InvalidInput(f"Provider '{provider.name}' does not support: "
                           f"{'; '.join(problems)}.")


def begin_create(work: Work, lb_id: str, model: type[Any], *requests: BaseModel
                 ) -> models.LoadBalancer:
    """Take the load balancer new objects of ``model`` go under (it must be ACTIVE); its
    provider must apply everything the ``requests`` ask for (else 400)."""
    lb = take_loadbalancer(work.session, lb_id, None, child=f"a new {model.kind.label}")
    provider = work.providers.get(lb.provider)
    check_supported(provider, (item for request in requests
                               for item in requested(model.kind, request)))
    return lb
