"""Fixtures of the ``lbaas`` CLI tests (``test_cli_*.py``): the real API served by uvicorn on a
free port in a thread, one per test module (``served``; ``slow_served`` with a provider that
takes a second to finish any change), the :class:`~tests.functional.cli_harness.Cli` that runs
commands against it, and ``web``, an ACTIVE load balancer with an HTTP listener."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from lbaas.api.app import create_app
from tests.databases import DATABASES, database_url
from tests.functional.cli_harness import Cli, Served
from tests.functional.harness import Api, build_api, close_api


def _serve(api: Api) -> Iterator[str]:
    """Serve ``api`` with uvicorn on a free port in a thread; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(api.services.conf, api.services), lifespan="off",
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One API for the module (tests use their own load balancer names)."""
    api = build_api(str(tmp_path_factory.mktemp("cli")))
    try:
        for url in _serve(api):
            yield Served(api, url)
    finally:
        close_api(api)


@pytest.fixture
def cli(served: Served) -> Cli:
    return Cli(served, CliRunner())


@pytest.fixture(scope="module")
def slow_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """An API whose provider takes a second to finish any change (objects stay PENDING_*)."""
    api = build_api(str(tmp_path_factory.mktemp("cli-slow")),
                    overrides={"noop_provider": {"completion_delay": 1.0}})
    try:
        for url in _serve(api):
            yield Served(api, url)
    finally:
        close_api(api)


@pytest.fixture
def slow_cli(slow_served: Served) -> Cli:
    return Cli(slow_served, CliRunner())


@pytest.fixture
def web(cli: Cli, request: pytest.FixtureRequest) -> dict[str, Any]:
    """An ACTIVE load balancer with an HTTP listener on port 80, named after the test."""
    name = request.node.name.removeprefix("test_")[:40]
    lb = cli.loadbalancer(name)
    listener = cli.json("listener", "create", name, "--name", f"{name}-http", "--protocol",
                        "HTTP", "--protocol-port", "80", "--wait")
    return {"lb": lb, "listener": listener, "name": name}


@pytest.fixture(params=DATABASES)
def haproxy_api(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An API whose default provider is haproxy (agents are heartbeats sent by the test), once
    per database."""
    built = build_api(str(tmp_path_factory.mktemp("state")), database_url(request.param),
                      overrides={"api": {"default_provider": "haproxy"}})
    try:
        yield built
    finally:
        close_api(built)
