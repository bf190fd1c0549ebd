"""What the CLI knows about each API resource: where it lives, its JSON keys, its list columns.

The load-balancing kinds take their names and keys from the registry (:mod:`lbaas.core.kinds`);
the CLI adds its paths and list columns."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from lbaas.core import kinds


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


def _tree_kind(kind: kinds.Kind, columns: tuple[str, ...], parent: Kind | None = None,
               nested: bool = False) -> Kind:
    """The CLI's view of a load-balancing kind of the registry."""
    collection = ("/{parent}/".join(("/" + parent.plural, kind.collection)) if nested and parent
                  else "/" + kind.collection)
    return Kind(kind.words, collection, kind.key, kind.collection, columns, named=kind.named,
                parent=parent, command=kind.command)


LOADBALANCER = _tree_kind(kinds.LOADBALANCER,
                          ("id", "name", "project_id", "vip_address", "provisioning_status",
                           "operating_status", "provider"))
LISTENER = _tree_kind(kinds.LISTENER,
                      ("id", "default_pool_id", "name", "project_id", "protocol",
                       "protocol_port", "admin_state_up"), parent=LOADBALANCER)
POOL = _tree_kind(kinds.POOL,
                  ("id", "name", "project_id", "provisioning_status", "protocol", "lb_algorithm",
                   "admin_state_up"))
MEMBER = _tree_kind(kinds.MEMBER,
                    ("id", "name", "project_id", "provisioning_status", "address",
                     "protocol_port", "operating_status", "weight"), parent=POOL, nested=True)
HEALTHMONITOR = _tree_kind(kinds.HEALTH_MONITOR,
                           ("id", "name", "project_id", "type", "admin_state_up"), parent=POOL)
L7POLICY = _tree_kind(kinds.L7POLICY,
                      ("id", "name", "project_id", "provisioning_status", "action", "position",
                       "admin_state_up"), parent=LISTENER)
L7RULE = _tree_kind(kinds.L7RULE,
                    ("id", "project_id", "provisioning_status", "compare_type", "type", "key",
                     "value", "invert", "admin_state_up"), parent=L7POLICY, nested=True)
SUBNET = Kind("subnet", "/v2.0/subnets", "subnet", "subnets",
              ("id", "name", "network_id", "cidr"))
NETWORK = Kind("network", "/v2.0/networks", "network", "networks", ("id", "name", "subnets"))
