"""The tree an agent builds from: ``LoadBalancerTree`` plus the revision it describes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lbaas.db import models
from lbaas.rpc.payloads import LoadBalancerTree


def _common(obj: Any, *fields: str) -> dict[str, Any]:
    out = {"id": obj.id, "admin_state_up": obj.admin_state_up,
           "provisioning_status": obj.provisioning_status}
    for f in fields:
        out[f] = getattr(obj, f)
    return out


def build_tree(session: Session, lb: models.LoadBalancer) -> dict[str, Any]:
    """Everything an agent needs for ``lb``; validated against ``LoadBalancerTree``."""
    subnet = session.get(models.Subnet, lb.vip_subnet_id) if lb.vip_subnet_id else None
    network = session.get(models.Network, lb.vip_network_id) if lb.vip_network_id else None
    listeners = []
    for li in lb.listeners:
        item = _common(li, "name", "protocol", "protocol_port", "connection_limit",
                       "default_pool_id", "timeout_client_data", "timeout_member_connect",
                       "timeout_member_data", "timeout_tcp_inspect")
        item["insert_headers"] = {k: str(v) for k, v in (li.insert_headers or {}).items()}
        item["allowed_cidrs"] = list(li.allowed_cidrs or [])
        item["l7policies"] = [
            {**_common(p, "name", "action", "position", "redirect_pool_id", "redirect_url",
                       "redirect_prefix", "redirect_http_code"),
             "rules": [_common(r, "type", "compare_type", "key", "value", "invert")
                       for r in p.rules]}
            for p in li.l7policies]
        listeners.append(item)
    pools = []
    for pool in lb.pools:
        item = _common(pool, "name", "protocol", "lb_algorithm", "session_persistence")
        hm = pool.healthmonitor
        item["healthmonitor"] = None if hm is None else _common(
            hm, "type", "delay", "timeout", "max_retries", "max_retries_down", "http_method",
            "url_path", "expected_codes", "http_version", "domain_name")
        item["members"] = [_common(m, "name", "address", "protocol_port", "weight", "backup",
                                   "monitor_address", "monitor_port") for m in pool.members]
        pools.append(item)
    tree: dict[str, Any] = {
        "id": lb.id, "name": lb.name, "project_id": lb.project_id,
        "vip_address": lb.vip_address, "vip_port_id": lb.vip_port_id,
        "vip_network_id": lb.vip_network_id,
        "vip_subnet": {"id": subnet.id, "network_id": subnet.network_id, "cidr": subnet.cidr,
                       "gateway_ip": subnet.gateway_ip, "ip_version": subnet.ip_version}
        if subnet else None,
        "admin_state_up": lb.admin_state_up, "topology": lb.topology,
        "provisioning_status": lb.provisioning_status, "listeners": listeners, "pools": pools,
    }
    LoadBalancerTree.model_validate(tree)  # the contract with agents holds before sending
    tree["revision"] = lb.revision
    tree["vip_network_name"] = network.name if network else None
    return tree
