"""What the CLI knows about each API resource: where it lives, its JSON keys, its list columns."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Kind:
    """One resource type of the API.

    ``collection`` is the path of its collection; nested resources (members, L7 rules) have a
    ``{parent}`` placeholder filled with the id of the pool or L7 policy they belong to.
    ``parent`` is the kind its objects are created under, if there is only one; ``command`` is
    the CLI's word for it (``lbaas <command> …``, and the argument naming one object).
    """

    label: str
    collection: str
    key: str
    plural: str
    columns: tuple[str, ...]
    named: bool = True
    parent: Kind | None = None
    command: str = ""

    @property
    def nested(self) -> bool:
        """Whether its collection lies under its parent object (``/pools/{parent}/members``)."""
        return "{parent}" in self.collection

    @property
    def argument_help(self) -> str:
        """The help of the argument naming one object: ``Pool (name or ID).``."""
        what = self.label[:1].upper() + self.label[1:]
        return f"{what} (name or ID)." if self.named else f"{what} ID."

    def path(self, parent: str | None = None) -> str:
        """The collection path (for nested kinds, under ``parent``)."""
        if self.nested:
            if parent is None:
                raise ValueError(f"{self.label} needs its parent's id")
            return self.collection.format(parent=parent)
        return self.collection

    def item_path(self, obj_id: str, parent: str | None = None) -> str:
        """The path of one object (``obj_id`` is quoted: it may be a name the user typed)."""
        return f"{self.path(parent)}/{quote(obj_id, safe='')}"


LOADBALANCER = Kind("load balancer", "/loadbalancers", "loadbalancer", "loadbalancers",
                    ("id", "name", "project_id", "vip_address", "provisioning_status",
                     "operating_status", "provider"), command="loadbalancer")
LISTENER = Kind("listener", "/listeners", "listener", "listeners",
                ("id", "default_pool_id", "name", "project_id", "protocol", "protocol_port",
                 "admin_state_up"), parent=LOADBALANCER, command="listener")
POOL = Kind("pool", "/pools", "pool", "pools",
            ("id", "name", "project_id", "provisioning_status", "protocol", "lb_algorithm",
             "admin_state_up"), command="pool")
MEMBER = Kind("member", "/pools/{parent}/members", "member", "members",
              ("id", "name", "project_id", "provisioning_status", "address", "protocol_port",
               "operating_status", "weight"), parent=POOL, command="member")
HEALTHMONITOR = Kind("health monitor", "/healthmonitors", "healthmonitor", "healthmonitors",
                     ("id", "name", "project_id", "type", "admin_state_up"), parent=POOL,
                     command="healthmonitor")
L7POLICY = Kind("L7 policy", "/l7policies", "l7policy", "l7policies",
                ("id", "name", "project_id", "provisioning_status", "action", "position",
                 "admin_state_up"), parent=LISTENER, command="l7policy")
L7RULE = Kind("L7 rule", "/l7policies/{parent}/rules", "rule", "rules",
              ("id", "project_id", "provisioning_status", "compare_type", "type", "key", "value",
               "invert", "admin_state_up"), named=False, parent=L7POLICY, command="l7rule")
SUBNET = Kind("subnet", "/v2.0/subnets", "subnet", "subnets",
              ("id", "name", "network_id", "cidr"))
NETWORK = Kind("network", "/v2.0/networks", "network", "networks", ("id", "name", "subnets"))
