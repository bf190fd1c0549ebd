"""The registry of resource kinds: one row per object of a load balancer's tree.

Every layer that needs a kind's name reads it here instead of spelling it again: messages and
404s (``label``), JSON envelopes and collections (``key``, ``collection``), oslo.policy rules
(``policy`` and ``policy_actions``), quotas (``quota``), the changes a provider is told of and the
agent RPC's method names (``name``: ``update_health_monitor``), and the ``lbaas`` CLI
(``command``). ORM models carry their kind (``models.Pool.kind``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

READ_WRITE = {"get_all": "read", "get_one": "read", "post": "member", "put": "member",
              "delete": "member"}
"""Policy actions of an ordinary kind: the base rule each maps to."""
READ_ADMIN = {"get_all": "read", "get_one": "read", "post": "admin", "put": "admin",
              "delete": "admin"}
"""Policy actions of an operator's catalog that every role may read (flavors, zones)."""
ADMIN_ONLY = {action: "admin" for action in READ_ADMIN}
"""Policy actions of an operator's catalog only admins see (flavor and zone profiles)."""
AMPHORA_ACTIONS = {action: "admin" for action in (
    "get_all", "get_one", "delete", "put_config", "put_failover", "get_stats")}
"""Policy actions of the amphora API (Octavia's: all admin-only by default)."""


@dataclass(frozen=True, eq=False)
class Kind:
    """One resource kind of the Octavia v2 API (the registry's rows are the only instances, so
    kinds compare and hash by identity)."""

    name: str
    """The change's object type and the agent RPC's word (``create_<name>``)."""
    label: str
    """How messages name it: ``Health Monitor 1234 could not be found.``"""
    key: str
    """The JSON envelope key of one object (``{"healthmonitor": …}``)."""
    collection: str
    """The JSON key and path segment of a list (``healthmonitors``)."""
    policy: str
    """The oslo.policy resource (``os_load-balancer_api:<policy>:<action>``)."""
    quota: str
    """The quota attribute counting it."""
    parent: Kind | None = None
    """The kind its objects are created under, if there is one."""
    command: str = ""
    """The ``lbaas`` CLI's word for it."""
    named: bool = True
    """Whether its objects have a ``name``."""
    quota_alias: str | None = None
    """The deprecated quota attribute Octavia still returns beside ``quota``."""
    policy_actions: dict[str, str] = field(default_factory=lambda: dict(READ_WRITE))
    """Policy action -> base rule (read, member, admin)."""

    @property
    def words(self) -> str:
        """The label in running text: ``health monitor``, ``L7 policy``."""
        return " ".join(w if any(c.isdigit() for c in w) else w.lower()
                        for w in self.label.split())


LOADBALANCER = Kind("loadbalancer", "Load Balancer", "loadbalancer", "loadbalancers",
                    "loadbalancer", "load_balancer", command="loadbalancer",
                    quota_alias="loadbalancer",
                    policy_actions={**READ_WRITE, "get_stats": "read", "get_status": "read",
                                    "put_failover": "admin"})
LISTENER = Kind("listener", "Listener", "listener", "listeners", "listener", "listener",
                parent=LOADBALANCER, command="listener",
                policy_actions={**READ_WRITE, "get_stats": "read"})
POOL = Kind("pool", "Pool", "pool", "pools", "pool", "pool", parent=LOADBALANCER,
            command="pool")
MEMBER = Kind("member", "Member", "member", "members", "member", "member", parent=POOL,
              command="member")
HEALTH_MONITOR = Kind("health_monitor", "Health Monitor", "healthmonitor", "healthmonitors",
                      "healthmonitor", "health_monitor", parent=POOL, command="healthmonitor",
                      quota_alias="healthmonitor")
L7POLICY = Kind("l7policy", "L7 Policy", "l7policy", "l7policies", "l7policy", "l7policy",
                parent=LISTENER, command="l7policy")
L7RULE = Kind("l7rule", "L7 Rule", "rule", "rules", "l7rule", "l7rule", parent=L7POLICY,
              command="l7rule", named=False)

AVAILABILITY_ZONE_PROFILE = Kind(
    "availability_zone_profile", "Availability Zone Profile", "availability_zone_profile",
    "availability_zone_profiles", "availability-zone-profile", "", command="",
    policy_actions=dict(ADMIN_ONLY))
AVAILABILITY_ZONE = Kind(
    "availability_zone", "Availability Zone", "availability_zone", "availability_zones",
    "availability-zone", "", command="", policy_actions=dict(READ_ADMIN))

AMPHORA = Kind("amphora", "Amphora", "amphora", "amphorae", "amphora", "", command="",
               named=False, policy_actions=dict(AMPHORA_ACTIONS))
"""A copy of a load balancer as operators see it (Octavia's amphora API,
:mod:`lbaas.core.amphora`)."""

CATALOG_KINDS = (AVAILABILITY_ZONE_PROFILE, AVAILABILITY_ZONE, AMPHORA)
"""The operator's objects outside any load balancer's tree and any project (no quota, no
agent RPC): the catalog (availability zones and their profiles) and the load balancers' copies
(amphorae); their policy rules and labels come from here."""

TREE_KINDS = (LOADBALANCER, LISTENER, POOL, HEALTH_MONITOR, MEMBER, L7POLICY, L7RULE)
"""Every kind of a load balancer's tree, root first."""

CHANGE_ACTIONS = ("create", "update", "delete")
FAILOVER = "failover"


def change_method(action: str, kind: Kind) -> str:
    """The agent RPC method of ``action`` on ``kind`` (``update_member``)."""
    return f"{action}_{kind.name}"


def change_methods() -> tuple[str, ...]:
    """Every change method of the agent RPC: create/update/delete of each kind, and failover of
    a load balancer (the seed's LBaaS v2 agent API)."""
    return (*(change_method(action, kind) for kind in TREE_KINDS for action in CHANGE_ACTIONS),
            change_method(FAILOVER, LOADBALANCER))
