"""A load balancer's object tree on the server: walking its ORM objects, and building the typed
:class:`lbaas.core.tree.LoadBalancerTree` that agents build from.

``tree_objects`` serves status updates and deletes (:mod:`lbaas.services.statuses`,
:mod:`lbaas.services.loadbalancers`); ``build_tree`` serves the agents' ``get_loadbalancer(s)``
RPC (:mod:`lbaas.rpc.server_endpoints`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from lbaas.core.tree import (
    AmphoraNode,
    ListenerNode,
    LoadBalancerTree,
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
