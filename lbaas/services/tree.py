"""A load balancer's object tree on the server: walking its ORM objects, and building the typed
:class:`lbaas.core.tree.LoadBalancerTree` that agents build from.

``tree_objects`` serves status updates and deletes (:mod:`lbaas.services.statuses`,
:mod:`lbaas.services.loadbalancers`); ``build_tree`` serves the agents' ``get_loadbalancer(s)``
RPC (:mod:`lbaas.rpc.server_endpoints`); ``member_change`` the casts about one member
(:class:`lbaas.providers.haproxy.HaproxyProvider`), which spare the agent that fetch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session, lazyload

from lbaas.core.status import Provisioning
from lbaas.core.tree import (
    AmphoraNode,
    ListenerNode,
    LoadBalancerTree,
    MemberChange,
    MemberNode,
    PoolNode,
    SourceAddressNode,
    SubnetNode,
)
from lbaas.db import models
from lbaas.services.networks import source_port_id
from lbaas.services.tls import SecretReader, listener_material, pool_material


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


_LB_FIELDS = tuple(name for name in LoadBalancerTree.model_fields
                   if name in models.LoadBalancer.__table__.columns)
"""The tree's load balancer fields that are columns (copied as they are)."""


def build_tree(session: Session, lb: models.LoadBalancer,
               secrets: SecretReader | None = None) -> LoadBalancerTree:
    """Everything an agent needs for ``lb``, at its current revision. Listeners and pools, with
    everything under them, are read from the ORM objects by the nodes' field names: a column
    added to a node reaches the agent without a change here. Their TLS certificates, CAs and
    CRLs are read from ``secrets`` (:mod:`lbaas.services.tls`; an unreadable one raises
    :class:`lbaas.core.errors.InvalidInput`, and the agent keeps what it runs)."""
    subnet = session.get(models.Subnet, lb.vip_subnet_id) if lb.vip_subnet_id else None
    network = session.get(models.Network, lb.vip_network_id) if lb.vip_network_id else None
    return LoadBalancerTree.model_validate({
        **{name: getattr(lb, name) for name in _LB_FIELDS},
        "vip_subnet": None if subnet is None else SubnetNode.model_validate(
            subnet, from_attributes=True),
        "listeners": [_with(ListenerNode.model_validate(li, from_attributes=True),
                            listener_material(secrets, session, li)) for li in lb.listeners],
        "pools": [_with(PoolNode.model_validate(pool, from_attributes=True),
                        pool_material(secrets, session, pool)) for pool in lb.pools],
        "vip_network_name": network.name if network else None,
        "source_addresses": _source_addresses(session, lb),
        "agent_host": _agent_host(session, lb),
        "amphorae": [_amphora_node(session, amphora) for amphora in lb.amphorae],
    })


def _with(node: Any, material: dict[str, Any]) -> Any:
    return node.model_copy(update=material) if material else node


def _amphora_node(session: Session, amphora: models.Amphora) -> AmphoraNode:
    agent = session.get(models.Agent, amphora.agent_id) if amphora.agent_id else None
    return AmphoraNode(id=amphora.id, position=amphora.position,
                       host=agent.host if agent is not None else None,
                       vrrp_ip=str(amphora.vrrp_ip), vrrp_priority=amphora.vrrp_priority,
                       status=amphora.status)


def _agent_host(session: Session, lb: models.LoadBalancer) -> str | None:
    agent = session.get(models.Agent, lb.agent_id) if lb.agent_id else None
    return agent.host if agent is not None else None


def _source_addresses(session: Session, lb: models.LoadBalancer) -> list[SourceAddressNode]:
    """The load balancer's address of the other IP family (a dual-stack VIP network), if any."""
    port = session.get(models.Port, source_port_id(lb.id))
    subnet = session.get(models.Subnet, port.subnet_id) if port is not None else None
    if port is None or subnet is None:
        return []
    return [SourceAddressNode(address=port.ip_address,
                              subnet=SubnetNode.model_validate(subnet, from_attributes=True))]


def member_change(session: Session, lb_id: str, member_id: str) -> MemberChange | None:
    """The change to member ``member_id`` as an agent holding the previous revision's tree of
    ``lb_id`` can apply it (:class:`lbaas.core.tree.MemberChange`); None when the member is not
    the whole difference: another object of the tree is not ACTIVE (the previous change failed
    or is still open, or this change touched several members), or the member is gone. A few
    column reads: building the tree is what it spares."""
    lb = session.execute(select(models.LoadBalancer.revision,
                                models.LoadBalancer.provisioning_status)
                         .where(models.LoadBalancer.id == lb_id)).first()
    member = session.get(models.Member, member_id, options=[lazyload("*")])
    if lb is None or member is None or session.scalar(_unsettled(lb_id, member_id)) is not None:
        return None
    amphorae = session.scalars(select(models.Amphora).options(lazyload("*"))
                               .where(models.Amphora.load_balancer_id == lb_id)
                               .order_by(models.Amphora.position)).all()
    return MemberChange(revision=lb.revision, provisioning_status=lb.provisioning_status,
                        pool_id=member.pool_id,
                        member=MemberNode.model_validate(member, from_attributes=True),
                        amphorae=[_amphora_node(session, amphora) for amphora in amphorae])


def _unsettled(lb_id: str, member_id: str) -> Any:
    """A query giving one row if any object of ``lb_id``'s tree other than ``member_id`` is not
    ACTIVE."""
    active = Provisioning.ACTIVE
    listener, pool, policy = models.Listener, models.Pool, models.L7Policy
    member, monitor, rule = models.Member, models.HealthMonitor, models.L7Rule
    one = literal(1)
    return union_all(
        select(one).where(listener.load_balancer_id == lb_id,
                          listener.provisioning_status != active),
        select(one).where(pool.load_balancer_id == lb_id, pool.provisioning_status != active),
        select(one).select_from(member).join(pool, member.pool_id == pool.id)
        .where(pool.load_balancer_id == lb_id, member.id != member_id,
               member.provisioning_status != active),
        select(one).select_from(monitor).join(pool, monitor.pool_id == pool.id)
        .where(pool.load_balancer_id == lb_id, monitor.provisioning_status != active),
        select(one).select_from(policy).join(listener, policy.listener_id == listener.id)
        .where(listener.load_balancer_id == lb_id, policy.provisioning_status != active),
        select(one).select_from(rule).join(policy, rule.l7policy_id == policy.id)
        .join(listener, policy.listener_id == listener.id)
        .where(listener.load_balancer_id == lb_id, rule.provisioning_status != active),
    ).limit(1)
