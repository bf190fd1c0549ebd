"""Authorisation with oslo.policy, using Octavia's rule names and roles.

Roles: ``admin`` (or ``load-balancer_admin``) may do everything in every project; ``member`` (or
``load-balancer_member``) may read and write its own project's objects; ``reader`` (or
``load-balancer_observer``) may only read them. Project isolation itself is applied by the queries
(another project's object is a 404, not a 403); policy decides what a role may do.
Operators override any rule with ``[oslo_policy] policy_file``.
"""

from __future__ import annotations

from oslo_config import cfg
from oslo_policy import policy

from lbaas.api.context import RequestContext
from lbaas.api.errors import Forbidden

PREFIX = "os_load-balancer_api"

BASE_RULES = [
    policy.RuleDefault("context_is_admin", "role:admin or role:load-balancer_admin",
                       "Administrators of the load balancer service."),
    policy.RuleDefault("load-balancer:global_observer",
                       "role:load-balancer_global_observer or rule:context_is_admin",
                       "May read every project's objects."),
    policy.RuleDefault("load-balancer:member",
                       "role:member or role:load-balancer_member or rule:context_is_admin",
                       "May change its own project's objects."),
    policy.RuleDefault("load-balancer:read",
                       "rule:load-balancer:member or role:reader or role:load-balancer_observer "
                       "or rule:load-balancer:global_observer",
                       "May read its own project's objects."),
    policy.RuleDefault("load-balancer:admin", "rule:context_is_admin", "Admin-only operations."),
]

# resource -> {action: base rule}
_RESOURCE_ACTIONS: dict[str, dict[str, str]] = {
    "loadbalancer": {"get_all": "read", "get_one": "read", "post": "member", "put": "member",
                     "delete": "member", "get_stats": "read", "get_status": "read",
                     "put_failover": "admin"},
    "listener": {"get_all": "read", "get_one": "read", "post": "member", "put": "member",
                 "delete": "member", "get_stats": "read"},
    "pool": {"get_all": "read", "get_one": "read", "post": "member", "put": "member",
             "delete": "member"},
    "member": {"get_all": "read", "get_one": "read", "post": "member", "put": "member",
               "delete": "member"},
    "healthmonitor": {"get_all": "read", "get_one": "read", "post": "member", "put": "member",
                      "delete": "member"},
    "l7policy": {"get_all": "read", "get_one": "read", "post": "member", "put": "member",
                 "delete": "member"},
    "l7rule": {"get_all": "read", "get_one": "read", "post": "member", "put": "member",
               "delete": "member"},
    "quota": {"get_all": "admin", "get_one": "read", "put": "admin", "delete": "admin",
              "get_defaults": "read"},
    "provider": {"get_all": "read"},
    "provider-flavor": {"get_all": "admin"},
    "flavor": {"get_all": "read", "get_one": "read", "post": "admin", "put": "admin",
               "delete": "admin"},
    "flavor-profile": {"get_all": "admin", "get_one": "admin", "post": "admin", "put": "admin",
                       "delete": "admin"},
    "network": {"get_all": "read", "get_one": "read", "post": "admin", "put": "admin",
                "delete": "admin"},
    "agent": {"get_all": "admin", "get_one": "admin", "put": "admin", "delete": "admin"},
}


def list_rules() -> list[policy.RuleDefault]:
    """Every default rule (also the ``oslo.policy.policies`` entry point)."""
    rules = list(BASE_RULES)
    for resource, actions in _RESOURCE_ACTIONS.items():
        for action, base in actions.items():
            rules.append(policy.RuleDefault(f"{PREFIX}:{resource}:{action}",
                                            f"rule:load-balancer:{base}"))
    return rules


class Policy:
    """An oslo.policy enforcer bound to the service's configuration."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._enforcer = policy.Enforcer(conf, use_conf=True)
        self._enforcer.register_defaults(list_rules())

    def authorize(self, ctx: RequestContext, resource: str, action: str,
                  target: dict[str, object] | None = None) -> None:
        """Raise Forbidden unless ``ctx`` may do ``action`` on ``resource``."""
        rule = f"{PREFIX}:{resource}:{action}"
        tgt = target or {"project_id": ctx.project_id}
        if not self._enforcer.enforce(rule, tgt, ctx.policy_creds()):
            raise Forbidden(f"Policy does not allow this request to be performed ({rule}).")

    def allows(self, ctx: RequestContext, resource: str, action: str) -> bool:
        return bool(self._enforcer.enforce(f"{PREFIX}:{resource}:{action}",
                                           {"project_id": ctx.project_id}, ctx.policy_creds()))
