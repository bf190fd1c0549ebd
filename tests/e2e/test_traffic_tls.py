"""TLS through the whole stack, proved by traffic: certificates stored in the secret store, the
listeners and pools that name them made through the API (and through the real ``openstack``
CLI), haproxy built by the agent, and a client in its namespace that checks what it is served.

* **the openstack CLI**: ``openstack secret store`` of PKCS12 bundles (Octavia's cookbook), a
  TERMINATED_HTTPS listener with a default and an SNI certificate, pool and members, all with
  the CLI and the ``clouds.yaml`` that ``lbaas up`` writes; verified HTTPS reaches both
  backends, each name gets its certificate, an unknown name the default one; ``openstack
  secret delete`` is refused while the listener uses the secret, and works once it is gone;
* **rotation**: ``PUT /listeners/{id}`` with a new ``default_tls_container_ref`` under a loop
  of new verified TLS connections: not one fails, then only the new certificate is served, and
  the old secret may be deleted;
* **client certificates**: MANDATORY with a CA and a CRL: no certificate and a revoked one are
  refused, a valid one passes and the backend sees X-SSL-Client-Verify and X-SSL-Client-CN; an
  SSL_DN_FIELD rule routes by the client certificate's CN;
* **HSTS and HTTP/2**: the header with max-age and includeSubDomains, h2 by ALPN, and an update
  that takes h2 away;
* **re-encryption**: a ``tls_enabled`` pool with a CA reaches a TLS-only member whose
  certificate the CA signs (ONLINE through the API); a member signed by another CA is ERROR and
  gets no request.

ACTIVE_STANDBY listeners are not covered here: a pair needs two agents on two nodes, which the
one-process stack cannot give (the three-node lab of tests/e2e/test_pairs.py can).

One stack (API and agent in one process, lab namespaces) serves the module; each test has its
own VIP. The stack's teardown deletes every load balancer and checks no namespace survives.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lbaas.api.app import create_app
from lbaas.cli.aio import _write_clouds
from tests.clients.conftest import clean_environ
from tests.clients.osc import OPENSTACK, Cli
from tests.e2e.stack import Stack, running_stack
from tests.e2e.tls_clients import (
    client_cert_options,
    curl,
    served_cn,
    tls_loop,
    write_ca,
    write_pair,
)
from tests.e2e.traffic import FAST_HTTP_MONITOR, create_lb, member, update, wait_status
from tests.e2e.traffic_backends import TlsFiles, backend
from tests.e2e.traffic_clients import get, in_background
from tests.live import run_live_server
from tests.netlab import Host, skip_unless_root_and_tools
from tests.tls_material import Authority, Issued

pytestmark = skip_unless_root_and_tools("ip", "haproxy", "nsenter", "openssl", "curl")

NAME = "www.example"  # the default certificate's name
KM = "/key-manager/v1"


@dataclass
class TlsStack:
    stack: Stack
    client: Host
    files: Path  # certificates and keys the client and the TLS backends read
    server_ca: Authority  # signs what the listeners serve

    def store(self, name: str, payload: bytes) -> str:
        """Store ``payload`` as the member (project-a) would with ``openstack secret store -t
        application/octet-stream -e base64``; its reference."""
        api = self.stack.api
        answer = api.client.post(f"{KM}/secrets", headers={"X-Auth-Token": api.member.token},
                                 json={"name": name,
                                       "payload": base64.b64encode(payload).decode(),
                                       "payload_content_type": "application/octet-stream",
                                       "payload_content_encoding": "base64"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["secret_ref"])

    def delete_secret(self, ref: str) -> Any:
        api = self.stack.api
        return api.client.delete(KM + ref.split(KM, 1)[1],
                                 headers={"X-Auth-Token": api.member.token})

    def curl(self, vip: str, *options: str, name: str = NAME) -> Any:
        """GET https://<name>/ through ``vip`` from the client, trusting the server CA."""
        return curl(self.client, self.files, vip, self.server_ca, *options, name=name)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsStack]:
    """The stack, backends A (10.241.0.11) and B (.12) answering HTTP on port 80 with what they
    saw, and a client (.200)."""
    with running_stack(tmp_path_factory.mktemp("tls-e2e")) as stack:
        backend(stack, "A", 11)
        backend(stack, "B", 12)
        yield TlsStack(stack, stack.client(), tmp_path_factory.mktemp("tls-files"),
                       Authority.create("lbaas tls api server CA"))


def _pool(*names_octets: tuple[str, int], **extra: Any) -> dict[str, Any]:
    """An HTTP pool over the named backends (port 80)."""
    return {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN",
            "members": [member(name, octet) for name, octet in names_octets], **extra}


def _https(default_ref: str, pool: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A TERMINATED_HTTPS listener on 443 serving ``default_ref``."""
    return {"protocol": "TERMINATED_HTTPS", "protocol_port": 443,
            "default_tls_container_ref": default_ref, "default_pool": pool, **extra}


# --- the openstack CLI --------------------------------------------------------------------------


@pytest.fixture
def live_url(tls: TlsStack) -> Iterator[str]:
    """The stack's API on a real socket (its background tasks are the stack's own: this app
    starts and stops none)."""
    services = dataclasses.replace(tls.stack.api.services, background=[])
    with run_live_server(create_app(tls.stack.conf, services)) as url:
        yield url


@pytest.mark.skipif(not OPENSTACK.exists(), reason=f"openstack CLI not installed ({OPENSTACK})")
def test_openstack_cli_stores_pkcs12_and_serves_it_with_sni(
        tls: TlsStack, live_url: str, tmp_path: Path) -> None:
    stack, vip = tls.stack, "10.241.0.100"
    _write_clouds(tmp_path, live_url, stack.api.member.token)  # as `lbaas up` writes it
    env = clean_environ(tmp_path)  # OS_CLIENT_CONFIG_FILE=<tmp_path>/clouds.yaml
    if env.pop("PYTHONDONTWRITEBYTECODE", None):
        env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    lbaas, secrets = Cli(env, ("--os-cloud", "lbaas")), Cli(env, ("--os-cloud", "lbaas-secrets"))

    default, second = tls.server_ca.issue(NAME), tls.server_ca.issue("two.example")
    stored = secrets.json_many(*(
        ("secret", "store", "--name", name, "-t", "application/octet-stream", "-e", "base64",
         "--payload", base64.encodebytes(issued.pkcs12()).decode())  # base64(1)'s lines
        for name, issued in (("tls1", default), ("tls2", second))))
    ref1, ref2 = (s["Secret href"] for s in stored)
    assert ref1.startswith(f"{live_url}{KM}/secrets/")

    def step(*args: str) -> dict[str, Any]:
        """One CLI command, then wait (through the API) for the load balancer to be ACTIVE."""
        made: dict[str, Any] = lbaas.json(*args)
        assert stack.wait_lb(lb_id)["provisioning_status"] == "ACTIVE"
        return made

    lb_id = lbaas.json("loadbalancer", "create", "--name", "tls-cli", "--vip-subnet-id",
                       stack.api.subnet_id, "--vip-address", vip)["id"]
    stack.lb_ids.append(lb_id)
    assert stack.wait_lb(lb_id)["provisioning_status"] == "ACTIVE"
    listener = step("loadbalancer", "listener", "create", "--name", "tls-cli-https",
                    "--protocol", "TERMINATED_HTTPS", "--protocol-port", "443",
                    "--default-tls-container-ref", ref1, "--sni-container-refs", ref2,
                    "--insert-headers", "X-Forwarded-Proto=true", lb_id)
    assert listener["default_tls_container_ref"] == ref1
    assert ref2 in str(listener["sni_container_refs"])
    pool = step("loadbalancer", "pool", "create", "--name", "tls-cli-web", "--listener",
                listener["id"], "--protocol", "HTTP", "--lb-algorithm", "ROUND_ROBIN")
    for name, octet in (("A", 11), ("B", 12)):
        step("loadbalancer", "member", "create", "--name", name, "--address",
             f"10.241.0.{octet}", "--protocol-port", "80", pool["id"])

    answers = [tls.curl(vip) for _ in range(4)]
    assert all(a.code == 200 for a in answers), answers[0].error
    assert {a.backend()["name"] for a in answers} == {"A", "B"}
    assert answers[0].backend()["headers"]["x-forwarded-proto"] == "https"
    assert tls.curl(vip, name="two.example").code == 200  # verified for that name
    assert served_cn(tls.client, vip, "two.example") == "two.example"
    assert served_cn(tls.client, vip, NAME) == NAME
    assert served_cn(tls.client, vip, "unknown.example") == NAME
    assert served_cn(tls.client, vip, None) == NAME

    refused = secrets.run("secret", "delete", ref1, check=False)
    assert refused.returncode != 0
    # barbicanclient shows the 409 as "Conflict: <description>"
    assert "Conflict: Secret is in use by" in refused.stderr, refused.stderr
    assert listener["id"] in refused.stderr
    lbaas.run("loadbalancer", "listener", "delete", listener["id"])
    assert stack.wait_lb(lb_id)["provisioning_status"] == "ACTIVE"
    for ref in (ref1, ref2):
        secrets.run("secret", "delete", ref)
    assert secrets.json("secret", "list", "--name", "tls1") == []


# --- rotation -----------------------------------------------------------------------------------


def test_rotating_the_default_certificate_fails_no_connection(tls: TlsStack) -> None:
    stack, old, new = tls.stack, tls.server_ca.issue(NAME), tls.server_ca.issue(NAME)
    old_ref, new_ref = tls.store("old", old.pkcs12()), tls.store("new", new.pkcs12())
    lb = create_lb(stack, {"listeners": [_https(old_ref, _pool(("A", 11), ("B", 12)))]}, 101)
    vip, listener_id = lb["vip_address"], lb["listeners"][0]["id"]

    stop = threading.Event()
    loop = (tls_loop, stop, vip, NAME, str(write_ca(tls.files, tls.server_ca)), 0.004)
    with in_background(lambda: tls.client.call(*loop)) as outcome:
        time.sleep(0.7)
        update(stack, lb["id"], f"/listeners/{listener_id}", "listener",
               {"default_tls_container_ref": new_ref})  # waits until ACTIVE
        time.sleep(0.7)
        stop.set()
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert result["failures"] == [] and result["done"] > 50, result["failures"][:5]
    assert set(result["serials"]) == {old.serial, new.serial}
    assert result["serials"][-1] == new.serial

    assert tls.delete_secret(new_ref).status_code == 409
    assert tls.delete_secret(old_ref).status_code == 204


# --- client certificates ------------------------------------------------------------------------


def test_mandatory_client_certificates_with_a_crl_and_a_dn_rule(tls: TlsStack) -> None:
    client_ca = Authority.create("lbaas tls api client CA")
    good, special, revoked = (client_ca.issue(cn, client=True)
                              for cn in ("good client", "special-client", "revoked client"))
    client_ca.revoke(revoked)
    rule = {"type": "SSL_DN_FIELD", "key": "CN", "compare_type": "EQUAL_TO",
            "value": "special-client"}
    listener = _https(
        tls.store("server", tls.server_ca.issue(NAME).pkcs12()), _pool(("A", 11)),
        client_authentication="MANDATORY",
        client_ca_tls_container_ref=tls.store("client-ca", client_ca.cert_pem.encode()),
        client_crl_container_ref=tls.store("client-crl", client_ca.crl_pem().encode()),
        insert_headers={"X-SSL-Client-Verify": "true", "X-SSL-Client-CN": "true"},
        l7policies=[{"action": "REDIRECT_TO_POOL", "redirect_pool": _pool(("B", 12)),
                     "rules": [rule]}])
    vip = create_lb(tls.stack, {"listeners": [listener]}, 102)["vip_address"]

    def with_cert(name: str, issued: Issued) -> Any:
        return tls.curl(vip, *client_cert_options(tls.files, f"client-{name}", issued))

    assert tls.curl(vip).code == 0  # no certificate: the handshake fails
    answer = with_cert("good", good)
    assert answer.code == 200, answer.error
    seen = answer.backend()
    assert seen["name"] == "A"
    assert seen["headers"]["x-ssl-client-verify"] == "0"
    assert seen["headers"]["x-ssl-client-cn"] == "good client"
    assert with_cert("revoked", revoked).code == 0
    routed = with_cert("special", special)
    assert (routed.code, routed.backend()["name"]) == (200, "B"), routed.error


# --- HSTS and HTTP/2 ----------------------------------------------------------------------------


def test_hsts_header_and_h2_by_alpn(tls: TlsStack) -> None:
    listener = _https(tls.store("hsts", tls.server_ca.issue(NAME).pkcs12()), _pool(("A", 11)),
                      alpn_protocols=["h2", "http/1.1"], hsts_max_age=300,
                      hsts_include_subdomains=True)
    lb = create_lb(tls.stack, {"listeners": [listener]}, 103)
    vip = lb["vip_address"]

    answer = tls.curl(vip, "--http2")
    assert (answer.code, answer.version) == (200, "2"), answer.error
    assert answer.headers["strict-transport-security"] == "max-age=300; includeSubDomains"
    assert tls.curl(vip, "--http1.1").version == "1.1"

    update(tls.stack, lb["id"], f"/listeners/{lb['listeners'][0]['id']}", "listener",
           {"alpn_protocols": ["http/1.1"]})
    answer = tls.curl(vip, "--http2")
    assert (answer.code, answer.version) == (200, "1.1"), answer.error


# --- re-encryption ------------------------------------------------------------------------------


def test_reencrypting_pool_checks_its_members_certificates(tls: TlsStack) -> None:
    member_ca = Authority.create("lbaas tls api member CA")
    for name, octet, issued in (
            ("signed", 21, member_ca.issue("member one")),
            ("rogue", 22, Authority.create("rogue CA").issue("member two"))):
        cert, key = write_pair(tls.files, f"member-{name}", issued)
        backend(tls.stack, name, octet, port=443, tls=TlsFiles(cert, key))
    pool = {"protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN", "tls_enabled": True,
            "ca_tls_container_ref": tls.store("member-ca", member_ca.cert_pem.encode()),
            "healthmonitor": FAST_HTTP_MONITOR,
            "members": [member("signed", 21, 443), member("rogue", 22, 443)]}
    lb = create_lb(tls.stack, {"listeners": [
        {"protocol": "HTTP", "protocol_port": 80, "default_pool": pool}]}, 104)
    pool_id = lb["pools"][0]["id"]
    members = {m["name"]: m["id"] for m in tls.stack.api.member.get(
        f"/pools/{pool_id}/members").json()["members"]}

    wait_status(tls.stack, pool_id, members["signed"], "ONLINE")
    wait_status(tls.stack, pool_id, members["rogue"], "ERROR")
    replies = [get(tls.client, lb["vip_address"]) for _ in range(4)]
    assert [(r.status, r.name, r.json()["tls"]) for r in replies] == [(200, "signed", True)] * 4

