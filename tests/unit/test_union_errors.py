"""Which errors a 400 names when a value matched no member of a union
(``lbaas.api.errors._closest_union_branch``): the closest member's, without its class name."""

from __future__ import annotations

from typing import Any

from lbaas.api.errors import _closest_union_branch

POOL = ("body", "loadbalancer", "listeners", 0, "default_pool")


def error(branch: str, *rest: Any, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": (*POOL, branch, *rest), "type": kind, "msg": "bad"}


def test_the_member_with_fewest_errors_wins_and_loses_its_name() -> None:
    errors = [error("PoolGraph", "members", 1, "address"),
              error("PoolNameRef", "protocol", kind="extra_forbidden"),
              error("PoolNameRef", "lb_algorithm", kind="extra_forbidden")]
    assert _closest_union_branch(errors) == [
        {"loc": (*POOL, "members", 1, "address"), "type": "value_error", "msg": "bad"}]


def test_a_member_that_only_refuses_attributes_is_the_wrong_shape() -> None:
    """Three real errors in the tree beat one "unrecognized attribute" of the by-name form."""
    errors = [error("PoolGraph", "members", 0, "address"),
              error("PoolGraph", "members", 1, "address"),
              error("PoolGraph", "lb_algorithm"),
              error("PoolNameRef", "members", kind="extra_forbidden")]
    kept = _closest_union_branch(errors)
    assert [e["loc"][-1] for e in kept] == ["address", "address", "lb_algorithm"]
    assert all("PoolGraph" not in e["loc"] for e in kept)


def test_errors_outside_a_union_are_kept_as_they_are() -> None:
    plain = {"loc": ("body", "loadbalancer", "vip_subnet_id"), "type": "missing", "msg": "x"}
    assert _closest_union_branch([plain]) == [plain]
