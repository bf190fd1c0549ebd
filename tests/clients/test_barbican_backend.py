"""``[key_manager] backend = barbican`` against a real Barbican and a real Keystone.

The session's Barbican (``tests/barbican_server.py``) is the Keystone catalog's ``key-manager``;
the API under test (in process, noop provider) authenticates with Keystone and names no
Barbican URL: it finds Barbican in the catalog with its service user (``[keystone_authtoken]``'s,
the default). Members of projects A (alice) and B (bob) store secrets in Barbican themselves,
as ``openstack secret store`` would, and name them in TERMINATED_HTTPS listeners: lbaas reads
them as the caller, grants its service user read access (a Barbican ACL), and builds the agent's
tree with the service user's credentials.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from lbaas.config import load_config
from lbaas.db import models
from lbaas.db.engine import read_session
from lbaas.services.secret_source import SecretBackendError, make_secret_source
from lbaas.services.tree import build_tree
from tests.barbican_server import BarbicanServer
from tests.functional.harness import Api, build_api, close_api
from tests.keystone_server import KeystoneServer, User
from tests.tls_material import Authority


@dataclass
class Cloud:
    keystone: KeystoneServer
    barbican: BarbicanServer
    api: Api
    alice: User
    bob: User
    service: User


@pytest.fixture(scope="module")
def cloud(keystone: KeystoneServer, barbican: BarbicanServer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    barbican.register()
    suffix = uuid.uuid4().hex[:8]
    project_a = keystone.create_project(f"bb-a-{suffix}")
    project_b = keystone.create_project(f"bb-b-{suffix}")
    alice = keystone.create_user(f"alice-{suffix}", project_a, ["member"])
    bob = keystone.create_user(f"bob-{suffix}", project_b, ["member"])
    boss = keystone.create_user(f"boss-{suffix}", keystone.project("admin"), ["admin"])
    rita = keystone.create_user(f"rita-{suffix}", project_a, ["reader"])
    service = keystone.create_service_user(f"lbaas-bb-{suffix}")
    state = tmp_path_factory.mktemp("barbican-backend")
    options = keystone.authtoken_options(service)
    (state / "lbaas.conf").write_text("\n".join([
        "[api]", "auth_strategy = keystone", "", "[key_manager]", "backend = barbican", "",
        "[keystone_authtoken]", *(f"{k} = {v}" for k, v in options.items()), ""]))
    callers = {"admin": (keystone.issue_token(boss), boss.project.id),
               "member": (keystone.issue_token(alice), project_a.id),
               "other": (keystone.issue_token(bob), project_b.id),
               "reader": (keystone.issue_token(rita), project_a.id)}
    api = build_api(str(state), config_files=[str(state / "lbaas.conf")], callers=callers)
    try:
        yield Cloud(keystone, barbican, api, alice, bob, service)
    finally:
        close_api(api)


def listener(api: Api, caller: Any, lb: dict[str, Any], port: int, **attrs: Any) -> Any:
    body = {"loadbalancer_id": lb["id"], "protocol": "TERMINATED_HTTPS",
            "protocol_port": port, **attrs}
    return caller.post("/listeners", {"listener": body})


def tree_of(api: Api, lb_id: str) -> Any:
    with read_session(api.services.sessions) as session:
        return build_tree(session, session.get(models.LoadBalancer, lb_id), api.services.secrets)


def test_a_barbican_secret_serves_a_listener(cloud: Cloud,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """Alice's PKCS12 bundle in Barbican: 201, the agent's tree carries it (read with the
    service user's credentials), the service user is in the secret's read ACL, and neither the
    key nor a token reaches a log line (everything logged at DEBUG)."""
    caplog.set_level(logging.DEBUG)
    api, barbican = cloud.api, cloud.barbican
    served = Authority.create().issue("www.example.com")
    token = api.member.token
    ref = barbican.store_secret(token, served.pkcs12(), name="www")
    assert cloud.service.id not in barbican.acl_users(token, ref)
    lb = api.create_lb(api.member)
    answer = listener(api, api.member, lb, 443, default_tls_container_ref=ref)
    assert answer.status_code == 201, answer.text
    created = answer.json()["listener"]
    assert created["default_tls_container_ref"] == ref
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    assert barbican.acl_users(token, ref) == [cloud.service.id]
    node = next(li for li in tree_of(api, lb["id"]).listeners if li.id == created["id"])
    assert node.default_tls is not None
    assert x509.load_pem_x509_certificates(node.default_tls.certificate.encode())[0] == \
        served.cert
    assert "PRIVATE KEY" in node.default_tls.private_key.get_secret_value()
    logged = caplog.text
    assert "PRIVATE KEY" not in logged and served.key_pem.splitlines()[1] not in logged
    assert token not in logged and cloud.service.password not in logged


def test_a_certificate_container_serves_a_listener(cloud: Cloud) -> None:
    """Octavia's legacy certificate container (certificate, private_key, intermediates): the
    tree carries it, and the service user may read the container and each of its secrets."""
    api, barbican = cloud.api, cloud.barbican
    served = Authority.create().issue("legacy.example.com")
    token = api.member.token
    parts = {"certificate": barbican.store_secret(token, served.cert_pem),
             "private_key": barbican.store_secret(token, served.key_pem)}
    ref = barbican.store_container(token, parts)
    lb = api.create_lb(api.member)
    answer = listener(api, api.member, lb, 443, default_tls_container_ref=ref)
    assert answer.status_code == 201, answer.text
    for held in (ref, *parts.values()):
        assert barbican.acl_users(token, held) == [cloud.service.id]
    node = next(li for li in tree_of(api, lb["id"]).listeners
                if li.id == answer.json()["listener"]["id"])
    assert node.default_tls is not None
    assert x509.load_pem_x509_certificates(node.default_tls.certificate.encode())[0] == \
        served.cert


def test_another_projects_secret_is_refused(cloud: Cloud) -> None:
    """Bob (project B) names Alice's secret: 400, and lbaas's service user is not granted
    anything on it (the read as Bob failed first)."""
    api, barbican = cloud.api, cloud.barbican
    ref = barbican.store_secret(api.member.token, Authority.create().issue("a.example").pkcs12())
    lb = api.create_lb(api.other)
    answer = listener(api, api.other, lb, 443, default_tls_container_ref=ref)
    assert answer.status_code == 400, answer.text
    assert "Could not retrieve certificate" in answer.json()["faultstring"]
    assert barbican.acl_users(api.member.token, ref) == []


def test_a_missing_secret_is_refused(cloud: Cloud) -> None:
    api = cloud.api
    lb = api.create_lb(api.member)
    for ref in (f"{cloud.barbican.url}/v1/secrets/{uuid.uuid4()}", "not-a-reference"):
        answer = listener(api, api.member, lb, 443, default_tls_container_ref=ref)
        assert answer.status_code == 400, answer.text
        assert "Could not retrieve certificate" in answer.json()["faultstring"]


def test_the_builtin_store_is_not_served(cloud: Cloud) -> None:
    """``/key-manager`` answers 404 saying where secrets live."""
    r = cloud.api.client.get("/key-manager/v1/secrets",
                             headers={"X-Auth-Token": cloud.api.member.token})
    assert r.status_code == 404
    assert "backend = barbican" in r.json()["description"]


def test_barbican_needs_keystone(tmp_path: Path) -> None:
    """A server with ``backend = barbican`` and lbaas's own tokens refuses to start."""
    conf = load_config(overrides={"DEFAULT": {"state_path": str(tmp_path)},
                                  "key_manager": {"backend": "barbican"}})
    with pytest.raises(SecretBackendError, match="auth_strategy = keystone"):
        make_secret_source(conf)
