"""Load balancer operations: create (also a whole tree in one call), update, delete (cascade),
failover, status tree and statistics."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from oslo_config import cfg
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from lbaas.core.context import RequestContext
from lbaas.core.errors import Forbidden, InvalidInput
from lbaas.core.kinds import LOADBALANCER
from lbaas.core.status import DELETABLE, Operating, Provisioning
from lbaas.db import models, rows
from lbaas.schemas.listener import ListenerGraph, PoolNameRef
from lbaas.schemas.loadbalancer import LoadBalancerCreate, LoadBalancerUpdate
from lbaas.schemas.pool import PoolGraph
from lbaas.services import availability_zones, builders, networks, quotas, tls, validation, views
from lbaas.services.capabilities import Requested, requested
from lbaas.services.changes import check_supported, find
from lbaas.services.provider_api import Provider, Providers
from lbaas.services.state import take_loadbalancer
from lbaas.services.tree import tree_objects
from lbaas.services.work import Work

STAT_FIELDS = ("bytes_in", "bytes_out", "active_connections", "total_connections",
               "request_errors")


def owner_project(ctx: RequestContext, data: Any) -> str:
    """The project a new object belongs to: the caller's, or any for an admin."""
    asked = data.project_id or data.tenant_id
    if asked and asked != ctx.project_id and not ctx.is_admin:
        raise Forbidden("Only administrators may create objects for another project.")
    return str(asked or ctx.project_id)


def _topology(session: Session, flavor_id: str | None, default: str) -> str:
    """The flavor's ``loadbalancer_topology``, else ``[api] default_topology``."""
    if flavor_id is None:
        return default
    flavor = session.get(models.Flavor, flavor_id)
    if flavor is None or not flavor.enabled:
        raise InvalidInput(f"Flavor {flavor_id} could not be found or is disabled.")
    profile = session.get(models.FlavorProfile, flavor.flavor_profile_id)
    data = json.loads(profile.flavor_data) if profile else {}
    return str(data.get("loadbalancer_topology", default))


def _vip_source(session: Session, data: LoadBalancerCreate, lb_id: str
                ) -> models.Port | networks.SubnetInfo:
    """The VIP's port (an existing one, claimed for ``lb_id``) or the subnet to allocate from."""
    if data.vip_port_id:
        port = session.get(models.Port, data.vip_port_id)
        if port is None:
            raise InvalidInput(f"Port {data.vip_port_id} could not be found.")
        if port.device_id and port.device_id != lb_id:
            raise InvalidInput(f"Port {data.vip_port_id} is already in use.")
        port.device_id = lb_id
        return port
    version = None
    if data.vip_address:
        version = ipaddress.ip_address(data.vip_address).version
    if data.vip_subnet_id:
        subnet = networks.find_subnet(session, data.vip_subnet_id)
        if data.vip_network_id and subnet.network_id != data.vip_network_id:
            raise InvalidInput(f"Subnet {subnet.id} is not on network {data.vip_network_id}.")
        return subnet
    return networks.subnet_for_network(session, str(data.vip_network_id), version)


def _set_vip(lb: models.LoadBalancer, port: models.Port) -> None:
    lb.vip_port_id, lb.vip_address = port.id, port.ip_address
    lb.vip_subnet_id, lb.vip_network_id = port.subnet_id, port.network_id


def _place(session: Session, provider: Provider, data: LoadBalancerCreate,
           lb: models.LoadBalancer, project_id: str, bare: bool, zone: dict[str, Any]) -> None:
    """Give ``lb`` its VIP (on a network its availability ``zone`` allows) and let the provider
    place it (in the zone: ``lb.availability_zone``). A ``bare`` load balancer (no
    listeners or pools: the most common create) is also inserted, with its tags, by Core
    statements -- the ORM unit of work would cost as much as the rest of the request -- in the
    same statement as its VIP port on PostgreSQL; it stays out of the session."""
    if bare:  # the values the response shows, which the ORM would otherwise fill in
        lb.created_at = lb.status_changed_at = models.utcnow()
        lb.revision = 1
    source = _vip_source(session, data, lb.id)
    if isinstance(source, models.Port):
        _set_vip(lb, source)
    else:
        lb.vip_subnet_id, lb.vip_network_id = source.id, source.network_id
    availability_zones.check_vip_network(zone, lb.vip_network_id)
    provider.schedule(session, lb)

    def rows_with_vip(port: models.Port) -> list[Any]:
        _set_vip(lb, port)
        return [lb, *lb.tag_rows] if bare else []

    if isinstance(source, networks.SubnetInfo):
        networks.allocate_vip(session, source, project_id, lb.id, data.vip_address,
                              rows_with_vip)
    elif bare:
        rows.insert_objects(session.connection(), [lb, *lb.tag_rows])
    # On a dual-stack network: an address of the other family, to reach members of it.
    networks.allocate_source(session, str(lb.vip_network_id), str(lb.vip_address), project_id,
                             lb.id)


def _graph_counts(data: LoadBalancerCreate) -> dict[type, int]:
    counts: dict[type, int] = {
        models.Listener: len(data.listeners), models.Pool: 0, models.Member: 0,
        models.HealthMonitor: 0, models.L7Policy: 0, models.L7Rule: 0}

    def add_pool(pool: PoolGraph) -> None:
        counts[models.Pool] += 1
        counts[models.Member] += len(pool.members)
        counts[models.HealthMonitor] += 1 if pool.healthmonitor else 0

    for pool in data.pools:
        add_pool(pool)
    for li in data.listeners:
        if isinstance(li.default_pool, PoolGraph):
            add_pool(li.default_pool)
        for policy in li.l7policies:
            counts[models.L7Policy] += 1
            counts[models.L7Rule] += len(policy.rules)
            if policy.redirect_pool is not None:
                add_pool(policy.redirect_pool)
    return counts


def build_listener_graph(lb: models.LoadBalancer, li_data: ListenerGraph,
                         named_pools: dict[str, models.Pool]) -> models.Listener:
    """A listener with its default pool and L7 policies, from a single-call create."""
    if li_data.default_pool_id is not None:
        raise InvalidInput("default_pool_id cannot be used in a single-call create; give "
                           "default_pool instead.")
    listener = builders.new_listener(lb, li_data)
    if isinstance(li_data.default_pool, PoolNameRef):
        pool = named_pools.get(li_data.default_pool.name)
        if pool is None:
            raise InvalidInput(f"default_pool '{li_data.default_pool.name}' of listener "
                               f"{li_data.protocol}:{li_data.protocol_port} names no pool in "
                               "this request.")
    elif isinstance(li_data.default_pool, PoolGraph):
        pool = builders.new_pool(lb, li_data.default_pool)
    else:
        pool = None
    if pool is not None:
        validation.check_listener_pool(listener.protocol, pool.protocol, pool.id)
        if any(other.default_pool_id == pool.id for other in lb.listeners):
            raise InvalidInput(f"Pool {pool.name or pool.id} is already the default pool of "
                               "another listener.")
        listener.default_pool_id = pool.id
    for policy_data in li_data.l7policies:
        redirect = (builders.new_pool(lb, policy_data.redirect_pool)
                    if policy_data.redirect_pool is not None else None)
        if policy_data.redirect_pool_id is not None:
            raise InvalidInput("redirect_pool_id cannot be used in a single-call create; give "
                               "redirect_pool instead.")
        builders.new_l7policy(listener, policy_data, redirect)
    return listener


def create(work: Work, conf: cfg.ConfigOpts, providers: Providers,
           data: LoadBalancerCreate) -> dict[str, Any]:
    """Create a load balancer (and, given listeners/pools, its whole tree) in PENDING_CREATE."""
    session = work.session
    project_id = owner_project(work.ctx, data)
    provider = providers.get(data.provider)
    zone = ({} if data.availability_zone is None
            else availability_zones.zone_data(session, provider, data.availability_zone))
    topology = _topology(work.session, data.flavor_id, conf.api.default_topology)
    check_supported(provider, [*requested(LOADBALANCER, data),
                               Requested(LOADBALANCER, "topology", topology)])
    counts = _graph_counts(data)
    counts[models.LoadBalancer] = 1
    quotas.check(session, conf, project_id, counts)
    tls.check_graph(work.secrets, session, project_id, data)
    lb = models.LoadBalancer(id=models.new_id(), project_id=project_id,
                             name=data.name or "", description=data.description or "",
                             admin_state_up=data.admin_state_up, provider=provider.name,
                             flavor_id=data.flavor_id, availability_zone=data.availability_zone,
                             vip_qos_policy_id=data.vip_qos_policy_id,
                             provisioning_status=Provisioning.PENDING_CREATE,
                             operating_status=Operating.OFFLINE)
    lb.topology = topology
    lb.tags = data.tags or []
    lb.listeners, lb.pools = [], []  # known empty: the response needs no query for them
    bare = not (data.listeners or data.pools)
    _place(session, provider, data, lb, project_id, bare, zone)
    if bare:
        provider.place_copies(session, lb)
        work.notify(lb, "create", lb)
        return views.loadbalancer_of(lb)
    session.add(lb)
    named: dict[str, models.Pool] = {}
    for pool_data in data.pools:
        pool = builders.new_pool(lb, pool_data)
        if pool.name:
            if pool.name in named:
                raise InvalidInput(f"Two pools in this request are named '{pool.name}'.")
            named[pool.name] = pool
    for li_data in data.listeners:
        build_listener_graph(lb, li_data, named)
    session.flush()
    provider.place_copies(session, lb)
    work.notify(lb, "create", lb)
    return views.loadbalancer_of(lb, full=bool(data.listeners or data.pools))


def update(work: Work, lb_id: str, data: LoadBalancerUpdate) -> dict[str, Any]:
    lb = find(work, models.LoadBalancer, lb_id)
    lb = take_loadbalancer(work.session, lb.id, None)
    check_supported(work.providers.get(lb.provider), requested(LOADBALANCER, data))
    builders.set_fields(lb, data.model_dump(exclude_unset=True))
    lb.updated_at = models.utcnow()
    work.notify(lb, "update", lb)
    return views.loadbalancer_of(lb)


def delete(work: Work, lb_id: str, cascade: bool) -> None:
    lb: models.LoadBalancer = find(work, models.LoadBalancer, lb_id)
    if (lb.listeners or lb.pools) and not cascade:
        raise InvalidInput(f"Cannot delete Load Balancer {lb_id} - it has children; delete "
                           "them first or use cascade=true.")
    lb = take_loadbalancer(work.session, lb.id, None, to_status=Provisioning.PENDING_DELETE,
                           allowed=DELETABLE)
    for obj in tree_objects(lb):
        obj.provisioning_status = Provisioning.PENDING_DELETE
    work.notify(lb, "delete", lb)


def failover(work: Work, lb_id: str) -> None:
    """Rebuild the load balancer from scratch, where its provider chooses (the haproxy
    provider: on another live agent when there is one)."""
    lb = find(work, models.LoadBalancer, lb_id)
    lb = take_loadbalancer(work.session, lb.id, None, allowed=DELETABLE)
    work.providers.get(lb.provider).place_failover(work.session, lb)
    work.notify(lb, "failover", lb)


def stats(obj: models.LoadBalancer | models.Listener) -> dict[str, int]:
    """Counters of a load balancer (sum over its listeners) or of one listener."""
    cols = [func.coalesce(func.sum(getattr(models.LoadBalancerStats, f)), 0) for f in STAT_FIELDS]
    stmt = select(*cols)
    if isinstance(obj, models.Listener):
        stmt = stmt.where(models.LoadBalancerStats.listener_id == obj.id)
    else:
        stmt = stmt.where(models.LoadBalancerStats.load_balancer_id == obj.id)
    session = object_session(obj)
    assert session is not None, "stats of an object outside a session"
    row = session.execute(stmt).one()
    return {f: int(v) for f, v in zip(STAT_FIELDS, row, strict=True)}
