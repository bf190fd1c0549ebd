"""Octavia's own API tests (octavia-tempest-plugin 3.5.0, tempest 47) pass against lbaas.

One module-scoped run: a real Keystone, a real ``lbaas server`` with ``auth_strategy =
keystone``, tempest with dynamic credentials and Keystone's default roles (so the plugin's RBAC
checks run too). The tests below read that run's results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.octavia_suite.expectations import ALLOWED_SKIPS, CI_TESTS, MUST_PASS, unexplained_skips
from tests.octavia_suite.stack import OctaviaSuiteStack
from tests.octavia_suite.tempest_run import SuiteResult

COMPATIBILITY = Path(__file__).resolve().parents[2] / "docs" / "compatibility.md"

@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteResult]:
    with OctaviaSuiteStack(tmp_path_factory.mktemp("octavia-suite")) as stack:
        yield stack.run(CI_TESTS)


def test_no_octavia_api_test_fails(suite: SuiteResult) -> None:
    report = "\n\n".join(f"{name}\n{outcome.detail[-2500:]}"
                         for name, outcome in sorted(suite.failed.items()))
    assert not suite.failed, f"{suite.summary()}\n\n{report}"


def test_every_skip_is_a_documented_missing_feature(suite: SuiteResult) -> None:
    assert unexplained_skips(suite) == {}


def test_the_tests_that_matter_ran_and_passed(suite: SuiteResult) -> None:
    """The run really exercised lbaas: each class of the subset has passing tests."""
    for pattern in MUST_PASS:
        assert any(re.search(pattern, name) for name in suite.passed), \
            f"no passing test matches {pattern}: {suite.summary()}"


def test_allowed_skips_name_sections_of_the_compatibility_page() -> None:
    headings = {line.lstrip("#").strip() for line in COMPATIBILITY.read_text().splitlines()
                if line.startswith("#")}
    assert set(ALLOWED_SKIPS.values()) <= headings, set(ALLOWED_SKIPS.values()) - headings
