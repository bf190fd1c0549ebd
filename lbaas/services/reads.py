"""Reads of one object as the caller may see it: fetched, scoped to the caller's project (403
for another project's object, 404 for none) and rendered by a view.

Called by the API's show and statistics routes, so that a route holds no query of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.context import RequestContext
from lbaas.core.errors import NotFound
from lbaas.db.engine import read_session
from lbaas.db.models import LoadBalancer
from lbaas.services import views
from lbaas.services.state import get_scoped, out_of_scope

T = TypeVar("T")


def _parent_id(obj: Any, parent: type[Any]) -> str:
    return str(getattr(obj, f"{parent.kind.name}_id"))


def show(sessions: sessionmaker[Session], model: type[Any], obj_id: str, ctx: RequestContext,
         view: Callable[[Any], T], parent: tuple[type[Any], str] | None = None) -> T:
    """``view`` of the ``model`` object ``obj_id``; with ``parent`` (model, id), the parent must
    be visible too and the object must be its child (``/pools/{pool_id}/members/{id}``)."""
    with read_session(sessions) as session:
        return view(visible(session, model, obj_id, ctx, parent))


def visible(session: Session, model: type[Any], obj_id: str, ctx: RequestContext,
            parent: tuple[type[Any], str] | None = None) -> Any:
    """The ``model`` object ``obj_id`` as :func:`show` finds it, or 404."""
    scope = ctx.scope_project()
    if parent is not None:
        get_scoped(session, parent[0], parent[1], scope)
    obj = get_scoped(session, model, obj_id, scope)
    if parent is not None and _parent_id(obj, parent[0]) != parent[1]:
        raise NotFound(model.kind.label, obj_id)
    return obj


def require_visible(sessions: sessionmaker[Session], model: type[Any], obj_id: str,
                    ctx: RequestContext) -> None:
    """404 unless the caller may see the ``model`` object ``obj_id`` (before listing its
    children)."""
    with read_session(sessions) as session:
        get_scoped(session, model, obj_id, ctx.scope_project())


def show_loadbalancer(sessions: sessionmaker[Session], lb_id: str, ctx: RequestContext
                      ) -> dict[str, Any]:
    """:func:`show` of a load balancer, from the one-query row view (the hot path of show)."""
    with read_session(sessions) as session:
        view = views.loadbalancer_show(session, lb_id, ctx.scope_project())
        if view is None:
            raise out_of_scope(session, LoadBalancer, lb_id)
    return view
