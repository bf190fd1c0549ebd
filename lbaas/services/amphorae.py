"""Octavia's amphora API (``/v2/octavia/amphorae``) over the copies of lbaas's load balancers.

An ACTIVE_STANDBY load balancer has one :class:`lbaas.db.models.Amphora` row per copy. A load
balancer without copy rows (SINGLE, or any load balancer of a provider that keeps none, such as
noop) runs as one copy on its agent (``LoadBalancer.agent_id``): it is shown as one STANDALONE
amphora synthesized from the load balancer, whose id is derived from the load balancer's
(:func:`standalone_id`), so it is stable and needs no row. Both are laid out by one view,
:func:`amphora_view`, from the response schema, and list, filter, page, show, fail over and
refresh alike.

A list is computed in Python (a synthesized id is no column): one query for the stored copies,
one for the load balancers without copies, one for the agents; ``loadbalancer_id`` and
``project_id`` narrow the queries, every filter, the order and the markers are applied by
:func:`lbaas.db.listing.list_items`. Only administrators may use this API by default; a caller
a relaxed policy lets in sees the copies of its own project's load balancers only.

The ``/v2/octavia/amphorae`` routes call these functions inside the session (or unit of work)
they open.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any, get_args

from oslo_config import cfg
from sqlalchemy import exists, select
from sqlalchemy.orm import Bundle, Session

from lbaas.core.amphora import VRRP_ID, VRRP_INTERFACE, AmphoraStatus, Role
from lbaas.core.errors import (
    POLICY_REFUSED,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
)
from lbaas.core.kinds import AMPHORA, FAILOVER
from lbaas.core.status import Provisioning
from lbaas.db import models
from lbaas.db.listing import ListError, ListQuery, list_items
from lbaas.schemas.amphora import AmphoraPublic, AmphoraStatistics
from lbaas.services.agents import is_alive
from lbaas.services.loadbalancers import STAT_FIELDS
from lbaas.services.state import take_loadbalancer
from lbaas.services.views import View, timestamp
from lbaas.services.work import Work

STANDALONE_NAMESPACE = uuid.UUID("920c3317-910f-40b1-895f-dedb130156b6")
"""The UUID5 namespace of the ids of synthesized STANDALONE amphorae (never change it: the ids
operators hold would change)."""
NOT_FOUND = "not found"
"""Octavia's words for an unknown amphora: ``Amphora <id> not found.``"""


def _value_type(annotation: Any) -> type:
    """The Python type a query-string filter on a field typed ``annotation`` is converted to."""
    kind = next((arg for arg in get_args(annotation) if arg is not type(None)), annotation)
    return next((base for base in (bool, int, str)
                 if isinstance(kind, type) and issubclass(kind, base)), str)


TIMES = ("created_at", "updated_at")
"""The fields that are timestamps: a list orders and filters on their exact values (as the
lists read from one table do), they show in Octavia's format (seconds)."""
FIELD_TYPES: dict[str, type] = {name: dt.datetime if name in TIMES
                                else _value_type(field.annotation)
                                for name, field in AmphoraPublic.model_fields.items()}
"""What a list may filter and sort on: every response field (as Octavia, every column of its
amphora table), with the type of its values."""
EXTRA_FILTERS: dict[str, type] = {"project_id": str}
"""Octavia's other amphora filter: the copies of the load balancers of one project."""

NO_EQUIVALENT: dict[str, Any] = {"compute_id": None, "lb_network_ip": None,
                                 "cert_expiration": None, "cert_busy": False,
                                 "image_id": None, "compute_flavor": None}
"""What a copy has no equivalent of: it is a network namespace on an agent's host, not a Nova
server (no compute id, image or flavor), reached over the message bus (no management network
address) by an agent that holds no certificate of its own."""

_L, _A = models.LoadBalancer, models.Amphora
_LB: Bundle[Any] = Bundle("lb", _L.id, _L.project_id, _L.provisioning_status, _L.agent_id,
                          _L.vip_address, _L.vip_port_id, _L.created_at, _L.updated_at)
"""What a copy shows of its load balancer."""
_COPY: Bundle[Any] = Bundle("copy", *_A.__table__.columns)
_HAS_COPIES = exists().where(_A.load_balancer_id == _L.id)
_PAIRS = select(_LB, _COPY).join_from(_L, _A, _A.load_balancer_id == _L.id)
_SINGLES = select(_LB).where(~_HAS_COPIES)


def standalone_id(lb_id: str) -> str:
    """The id of the one STANDALONE amphora of load balancer ``lb_id`` (which has no copy
    rows)."""
    return str(uuid.uuid5(STANDALONE_NAMESPACE, lb_id))


def _standalone_status(lb: Any, agent: models.Agent | None, down_time: int) -> str:
    """A synthesized copy's status, from its load balancer's: PENDING_CREATE and
    PENDING_DELETE while it is built or removed, ERROR when the load balancer is ERROR or its
    agent stopped reporting, ALLOCATED otherwise (ACTIVE, or PENDING_UPDATE: a change is being
    applied to a built copy; also without an agent, for a provider that places nothing)."""
    status = lb.provisioning_status
    if status in (Provisioning.PENDING_CREATE, Provisioning.PENDING_DELETE):
        return str(AmphoraStatus(status))
    if status == Provisioning.ERROR or (agent is not None and not is_alive(agent, down_time)):
        return str(AmphoraStatus.ERROR)
    return str(AmphoraStatus.ALLOCATED)


def _exact(value: dt.datetime | None) -> Any:
    return value


def amphora_view(lb: Any, copy: Any | None, agents: Mapping[str, models.Agent],
                 down_time: int, time: Callable[[dt.datetime | None], Any] = timestamp
                 ) -> View:
    """The amphora ``copy`` (a row of the amphorae table) of load balancer ``lb`` or, with
    ``copy`` None, the one STANDALONE copy of a load balancer without copy rows, in the order
    of :class:`AmphoraPublic`. ``agents``: every agent by id; an agent is dead once silent for
    ``down_time`` seconds. ``time`` shows the timestamps (a list orders exact ones, then
    shows them with :func:`shown_times`)."""
    agent_id = lb.agent_id if copy is None else copy.agent_id
    agent = agents.get(agent_id) if agent_id else None
    values: dict[str, Any] = {
        **NO_EQUIVALENT, "loadbalancer_id": lb.id, "ha_ip": lb.vip_address,
        "ha_port_id": lb.vip_port_id, "cached_zone": agent.availability_zone if agent else None,
        "agent_host": agent.host if agent else None}
    if copy is None:
        values.update(id=standalone_id(lb.id), vrrp_ip=None, vrrp_port_id=None,
                      role=str(Role.STANDALONE),
                      status=_standalone_status(lb, agent, down_time), vrrp_interface=None,
                      vrrp_id=None, vrrp_priority=None, created_at=time(lb.created_at),
                      updated_at=time(lb.updated_at))
    else:
        values.update(id=copy.id, vrrp_ip=copy.vrrp_ip, vrrp_port_id=copy.vrrp_port_id,
                      role=copy.role, status=copy.status, vrrp_interface=VRRP_INTERFACE,
                      vrrp_id=VRRP_ID, vrrp_priority=copy.vrrp_priority,
                      created_at=time(copy.created_at), updated_at=time(copy.updated_at))
    return {name: values[name] for name in AmphoraPublic.model_fields}


def shown_times(view: View) -> View:
    """A view built with exact timestamps, as the API shows it."""
    return {**view, **{name: timestamp(view[name]) for name in TIMES}}


def _agents(session: Session) -> dict[str, models.Agent]:
    return {agent.id: agent for agent in session.scalars(select(models.Agent))}


def _standalone_lb_id(session: Session, amp_id: str) -> str | None:
    """The load balancer without copy rows whose STANDALONE amphora is ``amp_id``, if any.
    A UUID5 cannot be inverted: the ids of those load balancers are hashed until one matches
    (only for an id that is a UUID5 at all)."""
    try:
        parsed = uuid.UUID(amp_id)
    except ValueError:
        return None
    if str(parsed) != amp_id or parsed.version != 5:
        return None
    return next((lb_id for lb_id in session.scalars(select(_L.id).where(~_HAS_COPIES))
                 if standalone_id(lb_id) == amp_id), None)


def _locate(session: Session, amp_id: str, scope_project: str | None) -> tuple[Any, Any]:
    """(load balancer facts, copy row or None for a STANDALONE one) of amphora ``amp_id``:
    404 when there is none, 403 when its load balancer is outside ``scope_project``."""
    found = session.execute(_PAIRS.where(_A.id == amp_id)).first()
    if found is not None:
        lb, copy = found.lb, found.copy
    else:
        lb_id = _standalone_lb_id(session, amp_id)
        if lb_id is None:
            raise NotFound(AMPHORA.label, amp_id, NOT_FOUND)
        lb, copy = session.execute(_SINGLES.where(_L.id == lb_id)).one().lb, None
    if scope_project is not None and lb.project_id != scope_project:
        raise Forbidden(POLICY_REFUSED)
    return lb, copy


def list_amphorae(session: Session, conf: cfg.ConfigOpts, q: ListQuery,
                  scope_project: str | None) -> tuple[list[View], bool]:
    """One page of amphorae as ``q`` asks (filters on :data:`FIELD_TYPES` and
    :data:`EXTRA_FILTERS`), in creation order by default; also whether more follow."""
    filters = dict(q.filters)
    conds = [_L.project_id == project
             for project in (filters.pop("project_id", None), scope_project)
             if project is not None]
    if "loadbalancer_id" in filters:
        conds.append(_L.id == filters["loadbalancer_id"])
    agents, down_time = _agents(session), conf.housekeeping.agent_down_time
    rows = [(found.lb, found.copy) for found in session.execute(_PAIRS.where(*conds))]
    rows += [(found.lb, None) for found in session.execute(_SINGLES.where(*conds))]
    items = [amphora_view(lb, copy, agents, down_time, _exact) for lb, copy in rows]

    def marked(marker: str) -> View | None:
        try:
            lb, copy = _locate(session, marker, scope_project)
        except ServiceError:
            return None
        return amphora_view(lb, copy, agents, down_time, _exact)

    try:
        page, more = list_items(items, dataclasses.replace(q, filters=filters), marked)
    except ListError as exc:
        raise InvalidInput(f"Invalid list query: {exc}.") from None
    return [shown_times(view) for view in page], more


def show(session: Session, conf: cfg.ConfigOpts, amp_id: str, scope_project: str | None
         ) -> View:
    lb, copy = _locate(session, amp_id, scope_project)
    return amphora_view(lb, copy, _agents(session), conf.housekeeping.agent_down_time)


def failover(work: Work, amp_id: str) -> None:
    """Rebuild one copy, as Octavia's amphora failover: the load balancer must be ACTIVE
    (409 otherwise, also for ERROR: that is the load balancer failover's job) and goes
    PENDING_UPDATE; its provider chooses where the copy is rebuilt (``place_amphora_failover``;
    a STANDALONE copy is the whole load balancer: ``place_failover``), then is told of the
    failover after commit."""
    found, copy = _locate(work.session, amp_id, work.ctx.scope_project())
    lb = take_loadbalancer(work.session, found.id, None)
    provider = work.providers.get(lb.provider)
    if copy is None:
        provider.place_failover(work.session, lb)
    else:
        amphora = next((a for a in lb.amphorae if a.id == amp_id), None)
        if amphora is None:  # removed since it was found
            raise NotFound(AMPHORA.label, amp_id, NOT_FOUND)
        provider.place_amphora_failover(work.session, lb, amphora)
    work.notify(lb, FAILOVER, lb)


def configure(work: Work, amp_id: str) -> None:
    """Octavia's "update amphora agent configuration", as lbaas can mean it: the agents of the
    load balancer rebuild its configuration from the current tree (a refresh of the load
    balancer, cast to its provider after commit). Nothing changes state: the load balancer may
    be in any status, and an agent's report closes no change that is not pending."""
    found, _copy = _locate(work.session, amp_id, work.ctx.scope_project())
    lb = work.session.get(models.LoadBalancer, found.id)
    if lb is None:  # deleted since it was found
        raise NotFound(AMPHORA.label, amp_id, NOT_FOUND)
    work.notify(lb, "update", lb)


def stats(session: Session, amp_id: str, scope_project: str | None) -> list[View]:
    """Octavia's ``amphora_stats``: the counters of each listener of the copy's load balancer
    (in creation order; zero until its agent first reports). lbaas stores a listener's counters
    once, not per copy: they are the counters of the copy that carries the traffic (STANDALONE,
    or MASTER), all zero for the other copy. 404 when the load balancer has no listener, as
    Octavia answers for an amphora without statistics."""
    lb, copy = _locate(session, amp_id, scope_project)
    carries = copy is None or copy.role == Role.MASTER
    counters = [getattr(models.LoadBalancerStats, name) for name in STAT_FIELDS]
    rows = session.execute(
        select(models.Listener.id, *counters)
        .outerjoin(models.LoadBalancerStats,
                   models.LoadBalancerStats.listener_id == models.Listener.id)
        .where(models.Listener.load_balancer_id == lb.id)
        .order_by(models.Listener.created_at, models.Listener.id))
    out = []
    for listener_id, *values in rows:
        shown: dict[str, Any] = {name: int(value or 0) if carries else 0
                 for name, value in zip(STAT_FIELDS, values, strict=True)}
        shown.update(id=amp_id, listener_id=listener_id, loadbalancer_id=lb.id)
        out.append({name: shown[name] for name in AmphoraStatistics.model_fields})
    if not out:
        raise NotFound("Amphora stats for", amp_id, NOT_FOUND)
    return out


def delete(session: Session, amp_id: str, scope_project: str | None) -> None:
    """Always refused: lbaas keeps no spare amphorae, every one is a copy of its load balancer,
    and Octavia refuses to delete an amphora in use (409, its words). 404 for an unknown id."""
    _locate(session, amp_id, scope_project)
    raise Conflict(f"{AMPHORA.label} {amp_id} is immutable and cannot be updated.")
