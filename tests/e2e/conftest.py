"""Fixtures for end-to-end tests: a whole stack with real haproxy in network namespaces
(``stack``); the real all-in-one of the fault tests (``env``, ``fresh``: test_faults_*.py, defined
in tests/e2e/faults_aio.py); the lab, VIP and haproxy of the interface driver and process manager
tests (``net``, ``lb_id``, ``state_path``, ``lb``: test_netns_haproxy_*.py, defined in
tests/e2e/netns_haproxy.py). tests/e2e/driver/conftest.py defines its own ``net`` and
``lb_id`` for the namespace driver's tests, which take precedence in that directory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.faults_aio import env, fresh  # noqa: F401 (fixtures)
from tests.e2e.netns_haproxy import lb, lb_id, net, state_path  # noqa: F401 (fixtures)
from tests.e2e.stack import Stack, running_stack
from tests.netlab import skip_unless_root_and_tools


@pytest.fixture
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("e2e")) as built:
        yield built


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    marker = skip_unless_root_and_tools("haproxy", "nsenter")
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(marker)
