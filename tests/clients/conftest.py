"""Fixtures for the real-client tests: a live server per test module, and clean client settings.

Each module gets one uvicorn server (see :func:`tests.live.run_live_server`) on a fresh SQLite
database built by :func:`tests.functional.harness.build_api`, so it has tokens for the admin,
member, other and reader callers and a registered network and subnet.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lbaas.api.app import create_app
from tests.functional.harness import Api, build_api, close_api
from tests.live import run_live_server

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass
class LiveApi:
    """A server listening on ``url``, plus the in-process harness sharing its database."""

    api: Api
    url: str

    def http(self, token: str | None) -> httpx.Client:
        """A plain HTTP client for the live server (no proxies), authenticated with ``token``."""
        headers = {"X-Auth-Token": token} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10.0, trust_env=False)


@contextmanager
def live_api(state_path: Path, overrides: dict[str, dict[str, Any]] | None = None,
             **build: Any) -> Iterator[LiveApi]:
    """Build the API on ``state_path`` (``build``: more arguments of ``build_api``) and serve a
    second app on the same services for real."""
    api = build_api(str(state_path), overrides=overrides, **build)
    try:
        with run_live_server(create_app(api.services.conf, api.services)) as url:
            yield LiveApi(api, url)
    finally:
        close_api(api)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """One token-authenticated live server for the whole test module."""
    with live_api(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def clean_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty HOME holding a ``clouds.yaml`` that names no cloud.

    ``OS_CLIENT_CONFIG_FILE`` points at it, so neither a developer's nor a CI runner's
    ``~/.config/openstack`` or ``/etc/openstack`` configuration can leak into the clients.
    """
    home = tmp_path_factory.mktemp("home")
    (home / ".config" / "openstack").mkdir(parents=True)
    (home / "clouds.yaml").write_text("clouds: {}\n")
    return home


def clean_environ(home: Path) -> dict[str, str]:
    """``os.environ`` without any ``OS_*`` or proxy variable, with HOME set to ``home``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OS_") and k.lower() not in PROXY_VARS}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               OS_CLIENT_CONFIG_FILE=str(home / "clouds.yaml"),
               OS_CLIENT_SECURE_FILE=str(home / "secure.yaml"),
               no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
    return env


@pytest.fixture(scope="session")
def cli_environ(clean_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The clean environment every ``openstack`` subprocess starts from.

    Where bytecode writing is disabled (``PYTHONDONTWRITEBYTECODE``), each CLI start would
    recompile ~1700 modules (seconds of CPU): the subprocesses then cache bytecode under a
    temporary ``PYTHONPYCACHEPREFIX`` instead, leaving the virtualenv untouched.
    """
    env = clean_environ(clean_home)
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env


@pytest.fixture
def isolated_environ(clean_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make this process's environment clean for in-process clients (openstacksdk)."""
    for key in list(os.environ):
        if key.startswith("OS_") or key.lower() in PROXY_VARS:
            monkeypatch.delenv(key)
    for key, value in clean_environ(clean_home).items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    return clean_home
