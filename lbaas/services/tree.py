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
    HealthMonitorNode,
    L7PolicyNode,
    L7RuleNode,
    ListenerNode,
    LoadBalancerTree,
    MemberNode,
    PoolNode,
    SubnetNode,
)
from lbaas.db import models


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


def _fields(obj: Any, *names: str) -> dict[str, Any]:
    """The columns ``names`` of ``obj``, with the ones every node has."""
    out = {"id": obj.id, "admin_state_up": obj.admin_state_up,
           "provisioning_status": obj.provisioning_status}
    for name in names:
        out[name] = getattr(obj, name)
    return out


def _listener(li: models.Listener) -> ListenerNode:
    return ListenerNode(
        **_fields(li, "name", "protocol", "protocol_port", "connection_limit",
                  "default_pool_id", "timeout_client_data", "timeout_member_connect",
                  "timeout_member_data", "timeout_tcp_inspect"),
        insert_headers={k: str(v) for k, v in (li.insert_headers or {}).items()},
        allowed_cidrs=list(li.allowed_cidrs or []),
        l7policies=[L7PolicyNode(
            **_fields(p, "name", "action", "position", "redirect_pool_id", "redirect_url",
                      "redirect_prefix", "redirect_http_code"),
            rules=[L7RuleNode(**_fields(r, "type", "compare_type", "key", "value", "invert"))
                   for r in p.rules])
            for p in li.l7policies])


def _pool(pool: models.Pool) -> PoolNode:
    hm = pool.healthmonitor
    return PoolNode(
        **_fields(pool, "name", "protocol", "lb_algorithm", "session_persistence"),
        healthmonitor=None if hm is None else HealthMonitorNode(**_fields(
            hm, "type", "delay", "timeout", "max_retries", "max_retries_down", "http_method",
            "url_path", "expected_codes", "http_version", "domain_name")),
        members=[MemberNode(**_fields(m, "name", "address", "protocol_port", "weight",
                                      "backup", "monitor_address", "monitor_port"))
                 for m in pool.members])


def build_tree(session: Session, lb: models.LoadBalancer) -> LoadBalancerTree:
    """Everything an agent needs for ``lb``, at its current revision."""
    subnet = session.get(models.Subnet, lb.vip_subnet_id) if lb.vip_subnet_id else None
    network = session.get(models.Network, lb.vip_network_id) if lb.vip_network_id else None
    return LoadBalancerTree.model_validate({
        "id": lb.id, "name": lb.name, "project_id": lb.project_id,
        "vip_address": lb.vip_address, "vip_port_id": lb.vip_port_id,
        "vip_network_id": lb.vip_network_id,
        "vip_subnet": None if subnet is None else SubnetNode(
            id=subnet.id, network_id=subnet.network_id, cidr=subnet.cidr,
            gateway_ip=subnet.gateway_ip, ip_version=subnet.ip_version),
        "admin_state_up": lb.admin_state_up, "topology": lb.topology,
        "provisioning_status": lb.provisioning_status,
        "listeners": [_listener(li) for li in lb.listeners],
        "pools": [_pool(p) for p in lb.pools],
        "revision": lb.revision, "vip_network_name": network.name if network else None,
    })
