"""What the CLI knows about each API resource: where it lives, its JSON keys, its list columns."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Kind:
    """One resource type of the API.

    ``collection`` is the path of its collection; nested resources (members, L7 rules) have a
    ``{parent}`` placeholder filled with the id of the pool or L7 policy they belong to.
    """

    label: str
    collection: str
    key: str
    plural: str
    columns: tuple[str, ...]
    named: bool = True

    def path(self, parent: str | None = None) -> str:
        """The collection path (for nested kinds, under ``parent``)."""
        if "{parent}" in self.collection:
            if parent is None:
                raise ValueError(f"{self.label} needs its parent's id")
            return self.collection.format(parent=parent)
        return self.collection

    def item_path(self, obj_id: str, parent: str | None = None) -> str:
        """The path of one object (``obj_id`` is quoted: it may be a name the user typed)."""
        return f"{self.path(parent)}/{quote(obj_id, safe='')}"


LOADBALANCER = Kind("load balancer", "/loadbalancers", "loadbalancer", "loadbalancers",
                    ("id", "name", "project_id", "vip_address", "provisioning_status",
                     "operating_status", "provider"))
LISTENER = Kind("listener", "/listeners", "listener", "listeners",
                ("id", "default_pool_id", "name", "project_id", "protocol", "protocol_port",
                 "admin_state_up"))
POOL = Kind("pool", "/pools", "pool", "pools",
            ("id", "name", "project_id", "provisioning_status", "protocol", "lb_algorithm",
             "admin_state_up"))
MEMBER = Kind("member", "/pools/{parent}/members", "member", "members",
              ("id", "name", "project_id", "provisioning_status", "address", "protocol_port",
               "operating_status", "weight"))
HEALTHMONITOR = Kind("health monitor", "/healthmonitors", "healthmonitor", "healthmonitors",
                     ("id", "name", "project_id", "type", "admin_state_up"))
L7POLICY = Kind("L7 policy", "/l7policies", "l7policy", "l7policies",
                ("id", "name", "project_id", "provisioning_status", "action", "position",
                 "admin_state_up"))
L7RULE = Kind("L7 rule", "/l7policies/{parent}/rules", "rule", "rules",
              ("id", "project_id", "provisioning_status", "compare_type", "type", "key", "value",
               "invert", "admin_state_up"), named=False)
SUBNET = Kind("subnet", "/v2.0/subnets", "subnet", "subnets",
              ("id", "name", "network_id", "cidr"))
NETWORK = Kind("network", "/v2.0/networks", "network", "networks", ("id", "name", "subnets"))
