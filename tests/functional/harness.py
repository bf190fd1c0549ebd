"""Builds an API under test: a fresh database (SQLite file, PostgreSQL or MariaDB), tokens for
several projects and roles, and a registered network/subnet to take VIPs from."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lbaas.api.app import build_services, create_app
from lbaas.api.deps import AppServices
from lbaas.config import load_config
from lbaas.db.engine import write_session
from lbaas.rpc.transport import make_transport
from lbaas.services.secret_cipher import ensure_key_file
from lbaas.services.tokens import create_token
from tests.databases import database_url


@dataclass
class Caller:
    """An HTTP client bound to one token."""

    client: TestClient
    token: str
    project_id: str
    prefix: str = "/v2/lbaas"

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"X-Auth-Token": self.token, **(extra or {})}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(self._url(path), headers=self._headers(), **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.client.post(self._url(path), json=body, headers=self._headers(), **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Any:
        return self.client.put(self._url(path), json=body, headers=self._headers(), **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(self._url(path), headers=self._headers(), **kw)

    def _url(self, path: str) -> str:
        return path if path.startswith("/v2") or path.startswith("/projects") or path == "/" \
            else f"{self.prefix}{path}"


@dataclass
class Api:
    client: TestClient
    services: AppServices
    admin: Caller
    member: Caller
    other: Caller  # a member of another project
    reader: Caller
    subnet_id: str = ""
    network_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def caller(self, project: str, *roles: str) -> Caller:
        with write_session(self.services.sessions) as s:
            _tok, secret = create_token(s, project, list(roles))
        return Caller(self.client, secret, project)

    def wait_active(self, caller: Caller, path: str, key: str, timeout: float = 10) -> Any:
        """Poll ``path`` until its ``key`` object is ACTIVE (or fail with its last state)."""
        return wait_for(lambda: caller.get(path).json()[key],
                        lambda o: o["provisioning_status"] == "ACTIVE", timeout)

    def create_lb(self, caller: Caller | None = None, wait: bool = True, **attrs: Any) -> Any:
        caller = caller or self.member
        body = {"vip_subnet_id": self.subnet_id, **attrs}
        r = caller.post("/loadbalancers", {"loadbalancer": body})
        assert r.status_code == 201, r.text
        lb = r.json()["loadbalancer"]
        if wait:
            lb = self.wait_active(caller, f"/loadbalancers/{lb['id']}", "loadbalancer")
        return lb


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in {timeout}s; last value: {value}")
        time.sleep(0.02)
        value = fetch()
    return value


def build_api(state_path: str, db_url: str = "", overrides: dict[str, dict[str, Any]] | None = None,
              network: tuple[str, str, str] = ("public", "10.20.0.0/16", "10.20.0.1"),
              allocation_pool: tuple[str, str] | None = None, config_files: Sequence[str] = (),
              callers: Mapping[str, tuple[str, str]] | None = None) -> Api:
    """An API under test. ``network`` is (name, CIDR, gateway) of the registered network;
    VIPs come from ``allocation_pool`` (start, end) if given, else from the whole subnet.

    ``config_files`` are read before ``overrides`` apply (sections such as
    ``[keystone_authtoken]`` that are registered only when used). ``callers`` maps ``admin``,
    ``member``, ``other`` and ``reader`` to (token, project id) issued elsewhere (Keystone);
    without it they get lbaas tokens of project-a, project-b and admin-project."""
    # The in-process transport's exchanges are global to the process: a private exchange keeps
    # this API (and its agent) from answering another test's messages.
    groups: dict[str, dict[str, Any]] = {"DEFAULT": {"state_path": state_path,
                                                     "log_json": False,
                                                     "control_exchange": f"lbaas-{uuid.uuid4()}"},
                                         "database": {"connection": db_url},
                                         "api": {"default_provider": "noop"}}
    for group, values in (overrides or {}).items():
        groups.setdefault(group, {}).update(values)
    conf = load_config(config_files, overrides=groups)
    ensure_key_file(conf.key_manager.encryption_key_file)  # as ``lbaas up`` does
    transport = make_transport(conf)
    services = build_services(conf, transport=transport)
    client = TestClient(create_app(conf, services))
    client.__enter__()
    if callers is None:
        with write_session(services.sessions) as s:
            callers = {name: (create_token(s, project, roles)[1], project)
                       for name, project, roles in (
                           ("admin", "admin-project", ["admin"]),
                           ("member", "project-a", ["member"]),
                           ("other", "project-b", ["member"]),
                           ("reader", "project-a", ["reader"]))}
    api = Api(client, services, admin=Caller(client, *callers["admin"]),
              member=Caller(client, *callers["member"]), other=Caller(client, *callers["other"]),
              reader=Caller(client, *callers["reader"]))
    api.extra["transport"] = transport
    name, cidr, gateway = network
    net = api.admin.post("/v2.0/networks", {"network": {"name": name}}).json()["network"]
    sub = api.admin.post("/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "name": f"{name}-subnet", "cidr": cidr,
        "gateway_ip": gateway, **({"allocation_pools": [
            {"start": allocation_pool[0], "end": allocation_pool[1]}]} if allocation_pool
            else {})}}).json()
    api.network_id, api.subnet_id = net["id"], sub["subnet"]["id"]
    return api


def api_with_completion_delay(request: pytest.FixtureRequest,
                              tmp_path_factory: pytest.TempPathFactory, delay: float
                              ) -> Iterator[Api]:
    """For a fixture parametrised by database (``tests.databases.DATABASES``): an API whose noop
    provider waits ``delay`` seconds before finishing a change, so objects stay PENDING_*
    meanwhile."""
    built = build_api(str(tmp_path_factory.mktemp("state")), database_url(request.param),
                      overrides={"noop_provider": {"completion_delay": delay}})
    try:
        yield built
    finally:
        close_api(built)


def close_api(api: Api) -> None:
    api.client.__exit__(None, None, None)
    api.services.engine.dispose()
