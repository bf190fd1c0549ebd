"""The registry of kinds is what every layer reads: the agent RPC, policy, quotas and the CLI
must agree with it."""

from __future__ import annotations

from lbaas.agent.endpoint import AgentRpcEndpoint
from lbaas.api.policy import list_rules
from lbaas.cli import kinds as cli_kinds
from lbaas.core import kinds
from lbaas.db import models
from lbaas.services import quotas


def test_agent_endpoint_serves_every_change_method_of_the_registry() -> None:
    methods = kinds.change_methods()
    assert "update_health_monitor" in methods
    assert "failover_loadbalancer" in methods
    assert len(methods) == len(kinds.TREE_KINDS) * 3 + 1
    for name in methods:
        assert callable(getattr(AgentRpcEndpoint, name)), name


def test_every_tree_model_carries_its_kind_in_registry_order() -> None:
    assert tuple(m.kind for m in models.TREE_MODELS) == kinds.TREE_KINDS


def test_policy_has_a_rule_for_every_action_of_every_kind() -> None:
    names = {rule.name for rule in list_rules()}
    for kind in kinds.TREE_KINDS:
        for action in kind.policy_actions:
            assert f"os_load-balancer_api:{kind.policy}:{action}" in names


def test_quotas_count_every_kind_under_its_quota_name() -> None:
    assert [r.field for r in quotas.RESOURCES] == [k.quota for k in kinds.TREE_KINDS]
    assert {r.legacy_field for r in quotas.RESOURCES} - {None} == {"loadbalancer",
                                                                     "healthmonitor"}


def test_cli_kinds_use_the_registry_names() -> None:
    assert cli_kinds.HEALTHMONITOR.key == kinds.HEALTH_MONITOR.key == "healthmonitor"
    assert cli_kinds.L7RULE.path("p1") == "/l7policies/p1/rules"
    assert cli_kinds.MEMBER.path("p1") == "/pools/p1/members"
    assert cli_kinds.L7POLICY.label == "L7 policy"
    assert not cli_kinds.L7RULE.named


def test_the_amphora_rules_are_octavias_and_admin_only() -> None:
    rules = {rule.name: str(rule.check_str) for rule in list_rules()}
    for action in ("get_all", "get_one", "delete", "put_config", "put_failover", "get_stats"):
        assert rules[f"os_load-balancer_api:amphora:{action}"] == "rule:load-balancer:admin"
    for kind in kinds.CATALOG_KINDS:
        for action in kind.policy_actions:
            assert f"os_load-balancer_api:{kind.policy}:{action}" in rules
