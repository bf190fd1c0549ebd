"""Fixtures of the namespace driver's tests (test_namespace_driver.py, test_runtime_members.py):
the lab of :mod:`tests.e2e.driver.lab` (``net``), a fresh load balancer id (``lb_id``) and a
driver on a fresh state path that undeploys it after the test (``driver``). They take the place
of tests/e2e/conftest.py's ``net`` and ``lb_id`` in this directory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from tests.e2e.driver.lab import driver_for, lab_net, new_lb_id
from tests.e2e.netns_haproxy import Net


@pytest.fixture
def net() -> Iterator[Net]:
    with lab_net() as lab:
        yield lab


@pytest.fixture
def lb_id() -> str:
    return new_lb_id()


@pytest.fixture
def driver(lb_id: str) -> Iterator[HaproxyNamespaceDriver]:
    with driver_for(lb_id) as built:
        yield built
