"""Which of Octavia's API tests CI runs, and which skips are allowed.

A skip is allowed only for a feature lbaas does not have (yet), named in
``docs/compatibility.md``: :data:`ALLOWED_SKIPS` maps each allowed skip reason (as the plugin
words it) to the heading of that document which explains it, and ``test_octavia_api.py`` checks
both that every skip is explained and that every heading named exists.
"""

from __future__ import annotations

import re

from tests.octavia_suite.tempest_run import SuiteResult

ALL_API_TESTS = [r"^octavia_tempest_plugin\.tests\.api\.v2\."]
"""Every API test of the plugin (``python -m tests.octavia_suite`` runs these)."""

CI_TESTS = ALL_API_TESTS
"""What CI runs."""

MUST_PASS = [rf"\.{name}\." for name in (
    "test_load_balancer", "test_listener", "test_pool", "test_member", "test_healthmonitor",
    "test_l7policy", "test_l7rule", "test_flavor", "test_flavor_profile",
    "test_flavor_capabilities", "test_provider", "test_availability_zone",
    "test_availability_zone_profile", "test_availability_zone_capabilities")]
"""Test modules of which at least one test must pass: a run that skipped a module wholesale
(a setUpClass skip) would otherwise look clean."""

ALLOWED_SKIPS: dict[str, str] = {
    r"test_with_ipv6|IPv6 testing is disabled|IPv6 is disabled": "IPv6 in Octavia's test suite",
    r"Amphora tests only run with the amphora": "Amphorae",
    r"[Ll]og offload": "Log offloading",
    r"^Skipped until bug: https://launchpad\.net/bugs/\d+": "Tests the plugin itself skips",
}
"""Skip reason (regex) -> heading in docs/compatibility.md."""


def explanation(reason: str) -> str | None:
    """The compatibility heading that allows a skip for ``reason``, or None."""
    for pattern, heading in ALLOWED_SKIPS.items():
        if re.search(pattern, reason):
            return heading
    return None


def unexplained_skips(result: SuiteResult) -> dict[str, str]:
    """Skipped tests whose reason no compatibility heading allows: test id -> reason."""
    return {name: outcome.detail.strip() for name, outcome in result.skipped.items()
            if explanation(outcome.detail) is None}
