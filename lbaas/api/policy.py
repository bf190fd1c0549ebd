"""Authorisation with oslo.policy, using Octavia's rule names and roles.

Roles: ``admin`` (or ``load-balancer_admin``) may do everything in every project; ``member`` (or
``load-balancer_member``) may read and write its own project's objects; ``reader`` (or
``load-balancer_observer``) may only read them. Project isolation itself is applied by the queries
(lists show only the caller's project; a request naming another project's object is a 403, as
Octavia's); policy decides what a role may do.
Operators override any rule with ``[oslo_policy] policy_file``.

The secret store (``/key-manager``) uses Barbican's rule names and its secure-RBAC defaults
(:data:`KEY_MANAGER_RULES`), decided against the object's project by :meth:`Policy.enforce`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from oslo_config import cfg
from oslo_policy import policy

from lbaas.core.context import RequestContext
from lbaas.core.errors import POLICY_REFUSED, Forbidden
from lbaas.core.kinds import CATALOG_KINDS, TREE_KINDS

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

# resource -> {action: base rule}: the load-balancing kinds' from the registry, then the rest.
_RESOURCE_ACTIONS: dict[str, dict[str, str]] = {
    **{kind.policy: kind.policy_actions for kind in (*TREE_KINDS, *CATALOG_KINDS)},
    "quota": {"get_all": "admin", "get_one": "read", "put": "admin", "delete": "admin",
              "get_defaults": "read"},
    "provider": {"get_all": "read"},
    "provider-flavor": {"get_all": "admin"},
    "provider-availability-zone": {"get_all": "admin"},
    "flavor": {"get_all": "read", "get_one": "read", "post": "admin", "put": "admin",
               "delete": "admin"},
    "flavor-profile": {"get_all": "admin", "get_one": "admin", "post": "admin", "put": "admin",
                       "delete": "admin"},
    "network": {"get_all": "read", "get_one": "read", "post": "admin", "put": "admin",
                "delete": "admin"},
    "agent": {"get_all": "admin", "get_one": "admin", "put": "admin", "delete": "admin"},
}


_MEMBER = "(role:member or role:admin)"
"""Barbican's ``role:member``: Keystone gives an admin the member role too (implied roles),
lbaas's own admin tokens carry only ``admin``."""
_SECRET_PROJECT = "project_id:%(target.secret.project_id)s"
_CONTAINER_PROJECT = "project_id:%(target.container.project_id)s"

KEY_MANAGER_RULES = [
    policy.RuleDefault("secrets:post", _MEMBER, "Create a secret."),
    policy.RuleDefault("secrets:get", _MEMBER, "List the project's secrets."),
    policy.RuleDefault("secret:get", f"role:admin or (role:member and {_SECRET_PROJECT})",
                       "Read a secret's metadata (an admin of any project may)."),
    policy.RuleDefault("secret:decrypt", f"{_MEMBER} and {_SECRET_PROJECT}",
                       "Read a secret's payload (the project's members and admins only)."),
    policy.RuleDefault("secret:put", f"{_MEMBER} and {_SECRET_PROJECT}",
                       "Add the payload to a secret created without one."),
    policy.RuleDefault("secret:delete", f"role:admin or (role:member and {_SECRET_PROJECT})",
                       "Delete a secret (an admin of any project may)."),
    policy.RuleDefault("containers:post", _MEMBER, "Create a container."),
    policy.RuleDefault("containers:get", _MEMBER, "List the project's containers."),
    policy.RuleDefault("container:get", f"{_MEMBER} and {_CONTAINER_PROJECT}",
                       "Read a container."),
    policy.RuleDefault("container:delete", f"{_MEMBER} and {_CONTAINER_PROJECT}",
                       "Delete a container."),
]
"""Barbican's default policies for secrets and containers (secure RBAC, without ACLs: every
secret readable by its project's members). A reader may do nothing, as in Barbican."""


def list_rules() -> list[policy.RuleDefault]:
    """Every default rule (also the ``oslo.policy.policies`` entry point)."""
    rules = list(BASE_RULES) + list(KEY_MANAGER_RULES)
    for resource, actions in _RESOURCE_ACTIONS.items():
        for action, base in actions.items():
            rules.append(policy.RuleDefault(f"{PREFIX}:{resource}:{action}",
                                            f"rule:load-balancer:{base}"))
    return rules


RULES_RECHECK_S = 1.0
"""How often the policy file is checked for changes (oslo.policy would stat it on every call)."""
MAX_CACHED_DECISIONS = 10_000


class Policy:
    """An oslo.policy enforcer bound to the service's configuration.

    Decisions are cached per (rule, caller): the credentials are all the input a decision has
    (the target is always the caller's own project), and evaluating a rule costs more than the
    rest of a small request. The cache is emptied whenever the rules change (the policy file is
    re-read at most every :data:`RULES_RECHECK_S`).
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._enforcer = policy.Enforcer(conf, use_conf=True)
        self._enforcer.register_defaults(list_rules())
        self._decisions: dict[tuple[str, str, tuple[str, ...], str], bool] = {}
        self._fingerprint: tuple[tuple[str, str], ...] | None = None
        self._checked_at = -math.inf

    def authorize(self, ctx: RequestContext, resource: str, action: str) -> None:
        """Raise Forbidden unless ``ctx`` may do ``action`` on ``resource``."""
        rule = f"{PREFIX}:{resource}:{action}"
        if not self._decide(rule, ctx):
            raise Forbidden(f"{POLICY_REFUSED[:-1]} ({rule}).")

    def allows(self, ctx: RequestContext, resource: str, action: str) -> bool:
        """Whether ``ctx`` may do ``action`` on ``resource``."""
        return self._decide(f"{PREFIX}:{resource}:{action}", ctx)

    def enforce(self, ctx: RequestContext, rule: str, target: Mapping[str, object]) -> bool:
        """Whether ``ctx`` passes ``rule`` (a full rule name) for ``target`` (flat keys, as
        Barbican's rules read them: ``target.secret.project_id``). Not cached: the target
        differs from one object to the next."""
        self._notice_rule_changes()
        return bool(self._enforcer.enforce(rule, dict(target), ctx.policy_creds()))

    def _decide(self, rule: str, ctx: RequestContext) -> bool:
        self._notice_rule_changes()
        key = (rule, ctx.project_id, ctx.roles, ctx.user_name)
        decision = self._decisions.get(key)
        if decision is None:
            decision = bool(self._enforcer.enforce(rule, {"project_id": ctx.project_id},
                                                   ctx.policy_creds()))
            if len(self._decisions) >= MAX_CACHED_DECISIONS:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    def _notice_rule_changes(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < RULES_RECHECK_S:
            return
        self._checked_at = now
        self._enforcer.load_rules()
        fingerprint = tuple(sorted((name, str(check))
                                   for name, check in self._enforcer.rules.items()))
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            self._decisions.clear()
