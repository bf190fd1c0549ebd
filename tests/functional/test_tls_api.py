"""TLS through the API: listeners and pools naming secrets of the built-in store (stored through its
Barbican-compatible API, as ``openstack secret store`` does), what is refused with 400 and why
(before anything is written), and what the agents' tree then carries.

The tree is built from the database exactly as the agents' RPC builds it
(:func:`lbaas.services.tree.build_tree` with the server's secret store).
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509

from lbaas.core.errors import InvalidInput
from lbaas.db import models
from lbaas.db.engine import read_session, write_session
from lbaas.rpc.server_endpoints import PluginEndpoints
from lbaas.services.tree import build_tree
from tests.functional.harness import Api, Caller, build_api, close_api
from tests.tls_material import Authority, Issued

NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    built = build_api(str(tmp_path_factory.mktemp("tls-api")))
    try:
        yield built
    finally:
        close_api(built)


@pytest.fixture(scope="module")
def ca() -> Authority:
    return Authority.create()


@pytest.fixture(scope="module")
def lb(api: Api) -> dict[str, Any]:
    return api.create_lb()


def store(caller: Caller, payload: bytes | str, name: str = "tls") -> str:
    """Store a secret as ``openstack secret store`` does; its ref."""
    if isinstance(payload, bytes):
        body = {"name": name, "payload": base64.b64encode(payload).decode(),
                "payload_content_type": "application/octet-stream",
                "payload_content_encoding": "base64"}
    else:
        body = {"name": name, "payload": payload, "payload_content_type": "text/plain"}
    answer = caller.client.post("/key-manager/v1/secrets", json=body,
                                headers={"X-Auth-Token": caller.token})
    assert answer.status_code == 201, answer.text
    ref: str = answer.json()["secret_ref"]
    return ref


def tree_of(api: Api, lb_id: str) -> Any:
    with read_session(api.services.sessions) as session:
        lb = session.get(models.LoadBalancer, lb_id)
        return build_tree(session, lb, api.services.secrets)


def listener_count(api: Api, lb_id: str) -> int:
    return len(api.admin.get(f"/loadbalancers/{lb_id}").json()["loadbalancer"]["listeners"])


def create_listener(api: Api, lb: dict[str, Any], port: int, caller: Caller | None = None,
                    **attrs: Any) -> Any:
    body = {"loadbalancer_id": lb["id"], "protocol": "TERMINATED_HTTPS",
            "protocol_port": port, **attrs}
    return (caller or api.member).post("/listeners", {"listener": body})


def test_a_pkcs12_secret_serves_a_listener_and_reaches_the_tree(
        api: Api, lb: dict[str, Any], ca: Authority) -> None:
    served = ca.issue("www.example.com")
    sni = ca.issue("api.example.com")
    client_ca = Authority.create("clients")
    refs = {"default": store(api.member, served.pkcs12()),
            "sni": store(api.member, sni.bundle_pem),
            "ca": store(api.member, client_ca.cert_pem),
            "crl": store(api.member, client_ca.crl_pem())}
    answer = create_listener(api, lb, 443, default_tls_container_ref=refs["default"],
                             sni_container_refs=[refs["sni"]],
                             client_ca_tls_container_ref=refs["ca"],
                             client_crl_container_ref=refs["crl"],
                             client_authentication="OPTIONAL",
                             tls_versions=["TLSv1.2", "TLSv1.3"], alpn_protocols=["h2"])
    assert answer.status_code == 201, answer.text
    listener = answer.json()["listener"]
    assert listener["default_tls_container_ref"] == refs["default"]
    assert "PRIVATE KEY" not in answer.text and "BEGIN CERTIFICATE" not in answer.text
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    node = next(li for li in tree_of(api, lb["id"]).listeners if li.id == listener["id"])
    assert node.default_tls is not None
    assert x509.load_pem_x509_certificates(node.default_tls.certificate.encode())[0] == \
        served.cert
    assert "PRIVATE KEY" in node.default_tls.private_key.get_secret_value()
    assert "PRIVATE KEY" not in repr(node), "the key stays out of reprs and log lines"
    assert [x509.load_pem_x509_certificates(c.certificate.encode())[0] for c in node.sni_tls] \
        == [sni.cert]
    assert x509.load_pem_x509_certificates(node.client_ca.encode()) == [client_ca.cert]
    assert "X509 CRL" in node.client_crl
    assert node.client_authentication == "OPTIONAL"
    assert node.tls_versions == ["TLSv1.2", "TLSv1.3"]


def test_sni_alone_is_enough(api: Api, lb: dict[str, Any], ca: Authority) -> None:
    ref = store(api.member, ca.issue("sni-only.example").pkcs12())
    answer = create_listener(api, lb, 8443, sni_container_refs=[ref])
    assert answer.status_code == 201, answer.text
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")


REFUSALS = {
    "no certificate at all": ({}, "SNI or default certificate"),
    "unknown ref": ({"default_tls_container_ref":
                     "http://x/key-manager/v1/secrets/3f6d1f2c-6b7e-4c4f-9a53-2d1f0e9b8a70"},
                    "Could not retrieve certificate"),
    "not a certificate": ({"default_tls_container_ref": b"hello, not a bundle"},
                          "neither a PKCS12 bundle nor PEM"),
    "key of another certificate": ({"default_tls_container_ref": "mismatch"},
                                   "does not match"),
    "expired": ({"default_tls_container_ref": "expired"}, "expired"),
    "passphrase": ({"default_tls_container_ref": "passphrase"}, "passphrase"),
    "client auth without CA": ({"client_authentication": "MANDATORY"},
                               "requires a client CA"),
    "CA without client authentication": ({"client_ca_tls_container_ref": "ca"},
                                         "only apply with client_authentication"),
    "CRL without CA": ({"client_crl_container_ref": "crl", "client_authentication": "OPTIONAL"},
                       "requires a client CA"),
    "CRL of another CA": ({"client_ca_tls_container_ref": "ca", "client_authentication":
                           "OPTIONAL", "client_crl_container_ref": "other crl"},
                          "not signed by the CA"),
    "CA that does not parse": ({"client_ca_tls_container_ref": b"\x30\x03junk",
                                "client_authentication": "MANDATORY"}, "do not parse"),
    "SSLv3": ({"tls_versions": ["SSLv3"]}, "SSLv3 not supported"),
    "cipher OpenSSL rejects": ({"tls_ciphers": "NO-SUCH-CIPHER"}, "selects no cipher"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_with_the_reason_and_nothing_written(
        api: Api, lb: dict[str, Any], ca: Authority, case: str) -> None:
    attrs, reason = REFUSALS[case]
    other_ca = Authority.create("other")
    good = ca.issue("good.example")
    made: dict[str, Issued | str | bytes] = {
        "mismatch": (good.cert_pem + ca.issue("bad.example").key_pem),
        "expired": ca.issue("old.example", not_before=NOW - datetime.timedelta(days=9),
                            not_after=NOW - datetime.timedelta(days=1)).pkcs12(),
        "passphrase": good.pkcs12(b"secret"),
        "ca": ca.cert_pem, "crl": ca.crl_pem(), "other crl": other_ca.crl_pem(),
    }
    body: dict[str, Any] = {"default_tls_container_ref": store(api.member, good.pkcs12())} \
        if case != "no certificate at all" else {}
    for key, value in attrs.items():
        if isinstance(value, bytes):
            value = store(api.member, value)
        elif isinstance(value, str) and value in made:
            value = store(api.member, made[value])  # type: ignore[arg-type]
        body[key] = value
    before = listener_count(api, lb["id"])
    answer = create_listener(api, lb, 9443, **body)
    assert answer.status_code == 400, answer.text
    assert reason in answer.json()["faultstring"], answer.text
    assert "PRIVATE KEY" not in answer.text
    assert listener_count(api, lb["id"]) == before


def test_another_projects_secret_is_refused(api: Api, lb: dict[str, Any], ca: Authority) -> None:
    theirs = store(api.other, ca.issue("theirs.example").pkcs12())
    answer = create_listener(api, lb, 9444, default_tls_container_ref=theirs)
    assert answer.status_code == 400
    assert "Could not retrieve certificate" in answer.json()["faultstring"]


def test_tls_attributes_of_other_listeners_and_pools(api: Api, lb: dict[str, Any],
                                                     ca: Authority) -> None:
    ref = store(api.member, ca.issue("plain.example").pkcs12())
    answer = api.member.post("/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 9080,
        "sni_container_refs": [ref]}})
    assert answer.status_code == 400
    assert "only be set on TERMINATED_HTTPS" in answer.json()["faultstring"]
    answer = api.member.post("/pools", {"pool": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "ca_tls_container_ref": store(api.member, ca.cert_pem)}})
    assert answer.status_code == 400
    assert "only apply to a pool with tls_enabled" in answer.json()["faultstring"]


def test_a_re_encrypting_pool_reaches_the_tree(api: Api, lb: dict[str, Any],
                                               ca: Authority) -> None:
    client = ca.issue("lb-client", client=True)
    answer = api.member.post("/pools", {"pool": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "tls_enabled": True, "tls_container_ref": store(api.member, client.pkcs12()),
        "ca_tls_container_ref": store(api.member, ca.cert_pem),
        "crl_container_ref": store(api.member, ca.crl_pem()),
        "tls_versions": ["TLSv1.3"], "alpn_protocols": ["http/1.1"]}})
    assert answer.status_code == 201, answer.text
    pool_id = answer.json()["pool"]["id"]
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    node = next(p for p in tree_of(api, lb["id"]).pools if p.id == pool_id)
    assert node.tls_enabled and node.tls_certificate is not None
    assert x509.load_pem_x509_certificates(node.tls_certificate.certificate.encode())[0] == \
        client.cert
    assert node.ca_certificate is not None and node.crl is not None
    assert node.tls_versions == ["TLSv1.3"]
    answer = api.member.post("/pools", {"pool": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
        "tls_enabled": True, "crl_container_ref": store(api.member, ca.crl_pem())}})
    assert answer.status_code == 400
    assert "crl_container_ref needs ca_tls_container_ref" in answer.json()["faultstring"]
    # an update to a bad CA is refused, the pool keeps what it had
    answer = api.member.put(f"/pools/{pool_id}", {"pool": {
        "ca_tls_container_ref": store(api.member, b"garbage")}})
    assert answer.status_code == 400, answer.text
    api.wait_active(api.member, f"/pools/{pool_id}", "pool")


def test_an_unreadable_secret_fails_only_its_own_tree(api: Api, ca: Authority) -> None:
    """A secret that vanished behind the store's back (the API refuses to delete one in use)
    leaves its load balancer out of an agent's batch fetch, and fails that tree's own fetch
    with the reason: the agent keeps serving what it runs, the other trees still come."""
    broken, fine = api.create_lb(), api.create_lb()
    ref = store(api.member, ca.issue("gone.example").pkcs12())
    answer = create_listener(api, broken, 443, default_tls_container_ref=ref)
    assert answer.status_code == 201, answer.text
    api.wait_active(api.member, f"/loadbalancers/{broken['id']}", "loadbalancer")
    path = "/key-manager" + ref.split("/key-manager", 1)[1]
    refused = api.client.delete(path, headers={"X-Auth-Token": api.member.token})
    assert refused.status_code == 409, refused.text
    with write_session(api.services.sessions) as session:
        session.delete(session.get(models.Secret, ref.rsplit("/", 1)[1]))
    endpoints = PluginEndpoints(api.services.conf, api.services.sessions, api.services.status,
                                api.services.secrets)
    trees = endpoints.get_loadbalancers({}, [broken["id"], fine["id"]])
    assert list(trees) == [fine["id"]]
    with pytest.raises(InvalidInput, match="Could not retrieve certificate"):
        endpoints.get_loadbalancer({}, broken["id"])
