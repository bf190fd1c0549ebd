"""Fixtures of the unit tests: agents built on the in-memory doubles of
:mod:`tests.unit.agent_doubles` (used by the ``test_agent_manager_*`` modules)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lbaas.agent.endpoint import AgentRpcEndpoint
from lbaas.agent.manager import AgentManager
from tests.unit.agent_doubles import WAIT, Agent, Device, Server, build_conf


@pytest.fixture
def make_agent() -> Iterator[Callable[..., Agent]]:
    """Builds agents (options of [agent] as keywords); stops their work queues at teardown."""
    built: list[Agent] = []

    def make(**options: Any) -> Agent:
        server, device = Server(), Device()
        manager = AgentManager(build_conf(**options), server, device)
        built.append(Agent(server, device, manager, AgentRpcEndpoint(manager)))
        return built[-1]

    yield make
    for agent in built:
        if agent.device.gate is not None:
            agent.device.gate.set()
        assert agent.manager.stop(WAIT)


@pytest.fixture
def agent(make_agent: Callable[..., Agent]) -> Agent:
    return make_agent()
