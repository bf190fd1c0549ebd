"""End to end: TLS through the HAProxy namespace driver, proved by traffic (no server).

A lab (tests/netlab.py) on 10.236.0.0/24: a client host, a web host whose servers (the JSON
backends of tests/e2e/traffic_backends.py) answer as A, B and C on ports 80, 81 and 82 and echo
the headers they got, and nginx hosts (nginx-light, run in the foreground and stopped by the
lab) that speak TLS only. Certificates come from tests/tls_material.py. The driver deploys
:class:`LoadBalancerTree` objects built here; the client speaks with ``openssl s_client`` and
``curl`` (HTTP/2 through nghttp2) from its namespace. Everything is removed, and checked gone,
also when a test fails.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from lbaas.config import load_config
from lbaas.core.tree import (
    CertificateNode,
    HealthMonitorNode,
    L7PolicyNode,
    L7RuleNode,
    ListenerNode,
    LoadBalancerTree,
    MemberNode,
    PoolNode,
    SubnetNode,
)
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from lbaas.drivers.haproxy.process import Action, ConfigRejected
from lbaas.drivers.interface import vip_plug
from tests.e2e import tls_clients
from tests.e2e.tls_clients import NGINX, Answer, run_in, tls_loop, wait_until
from tests.e2e.traffic_backends import Backend
from tests.e2e.traffic_clients import in_background
from tests.netlab import Host, Lab, link_names, skip_unless_root_and_tools
from tests.tls_material import Authority, Issued

pytestmark = [
    pytest.mark.e2e,
    skip_unless_root_and_tools("ip", "haproxy", "nsenter", "openssl", "curl"),
    pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed"),
]

SUBNET = "10.236.0"
VIP = f"{SUBNET}.100"
WEB = f"{SUBNET}.11"
NAME = "www.example"  # the default certificate's name


# --- certificates -------------------------------------------------------------------------------


@dataclass
class Pki:
    server_ca: Authority  # signs what haproxy serves
    client_ca: Authority  # signs the clients' certificates (and haproxy's towards members)
    member_ca: Authority  # signs the nginx members' certificates
    default: Issued  # www.example


@pytest.fixture(scope="module")
def pki() -> Pki:
    server_ca = Authority.create("lbaas tls e2e server CA")
    return Pki(server_ca, Authority.create("lbaas tls e2e client CA"),
               Authority.create("lbaas tls e2e member CA"), server_ca.issue(NAME))


def node(cert_id: str, issued: Issued) -> CertificateNode:
    return CertificateNode(id=cert_id, certificate=issued.cert_pem + issued.chain_pem,
                           private_key=issued.key_pem)


# --- trees --------------------------------------------------------------------------------------


def web_pool(pool_id: str, port: int) -> PoolNode:
    member = MemberNode(id=f"m-{pool_id}", address=WEB, protocol_port=port)
    return PoolNode(id=pool_id, protocol="HTTP", lb_algorithm="ROUND_ROBIN", members=[member])


def https_listener(pki: Pki, **overrides: Any) -> ListenerNode:
    fields: dict[str, Any] = {
        "id": "listener-1",
        "protocol": "TERMINATED_HTTPS",
        "protocol_port": 443,
        "default_pool_id": "pool-a",
        "default_tls": node("cert-default", pki.default),
        "insert_headers": {"X-Forwarded-Proto": "true"},
    }
    return ListenerNode(**(fields | overrides))


def make_tree(lb_id: str, listener: ListenerNode, pools: list[PoolNode] | None = None
              ) -> LoadBalancerTree:
    return LoadBalancerTree(
        id=lb_id,
        project_id="project-1",
        vip_address=VIP,
        vip_network_id="network-1",
        vip_subnet=SubnetNode(id="subnet-1", network_id="network-1", cidr=f"{SUBNET}.0/24",
                              gateway_ip=f"{SUBNET}.1"),
        provisioning_status="PENDING_CREATE",
        listeners=[listener],
        pools=pools if pools is not None else [web_pool("pool-a", 80)],
    )


# --- the lab ------------------------------------------------------------------------------------


@dataclass
class TlsLab:
    lab: Lab
    bridge: str
    client: Host
    web: Host
    files: Path  # certificates and keys the client and nginx read


@pytest.fixture
def net() -> Iterator[TlsLab]:
    files = Path(tempfile.mkdtemp(prefix="lbtls"))
    try:
        with Lab() as lab:
            bridge = lab.bridge("br")
            client = lab.host("cl", bridge, f"{SUBNET}.50/24")
            web = lab.host("w1", bridge, f"{WEB}/24")
            for name, port in (("A", 80), ("B", 81), ("C", 82)):
                Backend(name, web).serve(port)
            yield TlsLab(lab, bridge, client, web, files)
    finally:
        shutil.rmtree(files, ignore_errors=True)


@pytest.fixture
def lb_id() -> str:
    return f"{Lab().prefix}{secrets.token_hex(3)}-tls"


@pytest.fixture
def driver(lb_id: str) -> Iterator[HaproxyNamespaceDriver]:
    """A driver on a fresh state_path; ``lb_id`` is undeployed after, its files with it."""
    state_path = Path(tempfile.mkdtemp(prefix="lbt"))
    driver = HaproxyNamespaceDriver(
        load_config(overrides={"DEFAULT": {"state_path": str(state_path)}}))
    try:
        yield driver
    finally:
        try:
            driver.undeploy(lb_id)
            assert not (driver.lbs_dir / lb_id).exists()
            assert vip_plug.outer_ifname(lb_id) not in link_names()
        finally:
            shutil.rmtree(state_path, ignore_errors=True)


def certs_dir(driver: HaproxyNamespaceDriver, lb_id: str) -> Path:
    return driver.process(lb_id).paths.certs


def write_ca(net: TlsLab, authority: Authority) -> Path:
    return tls_clients.write_ca(net.files, authority)


# --- clients (tests/e2e/tls_clients.py, aimed at this lab's VIP) --------------------------------


def served_cn(net: TlsLab, servername: str | None, *options: str) -> str | None:
    """The CN of the certificate the VIP serves for ``servername`` (None: no SNI), or None
    when the handshake fails."""
    return tls_clients.served_cn(net.client, VIP, servername, *options)


def curl(net: TlsLab, pki: Pki, *options: str, name: str = NAME) -> Answer:
    """GET https://<name>/ through the VIP, trusting the server CA."""
    return tls_clients.curl(net.client, net.files, VIP, pki.server_ca, *options, name=name)


def with_cert(net: TlsLab, name: str, issued: Issued) -> tuple[str, ...]:
    return tls_clients.client_cert_options(net.files, name, issued)


def nginx(net: TlsLab, host: Host, name: str, issued: Issued,
          client_ca: Authority | None = None, port: int = 443) -> None:
    """nginx on ``host:port`` serving TLS only with ``issued`` (:func:`tls_clients.nginx`)."""
    tls_clients.nginx(net.files, host, name, issued, client_ca, port)


def http_get(net: TlsLab) -> tuple[int, str]:
    """A plain GET to the VIP's port 80 (status, body)."""
    result = run_in(net.client, ["curl", "-sS", "--max-time", "10", "-o", "-",
                                 "-w", "\n%{http_code}", f"http://{VIP}/"])
    body, _, code = result.stdout.rpartition("\n")
    return int(code or 0), body


def member_health(driver: HaproxyNamespaceDriver, tree: LoadBalancerTree) -> dict[str, str]:
    """ONLINE/ERROR per member, from haproxy's stats socket."""
    return dict(driver.collect(tree)["members"])


# --- SNI, client authentication, ALPN, HSTS, versions ------------------------------------------


def test_sni_picks_the_certificate_of_each_name_and_the_default_otherwise(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    sni = [node("cert-a", pki.server_ca.issue("a.example")),
           node("cert-b", pki.server_ca.issue("b.example", dns_names=["b.example", "*.b.test"]))]
    tree = make_tree(lb_id, https_listener(pki, sni_tls=sni))
    assert driver.deploy(tree, net.bridge) is Action.STARTED

    assert served_cn(net, "a.example") == "a.example"
    assert served_cn(net, "b.example") == "b.example"
    assert served_cn(net, "x.b.test") == "b.example"  # a SAN, read from the certificate
    assert served_cn(net, "other.example") == NAME
    assert served_cn(net, None) == NAME
    answer = curl(net, pki, name="a.example")  # verified against the CA and the name
    assert answer.code == 200, answer.error
    assert answer.backend()["headers"]["x-forwarded-proto"] == "https"
    certs = certs_dir(driver, lb_id)
    assert certs.stat().st_mode & 0o777 == 0o700
    assert {path.stat().st_mode & 0o777 for path in certs.iterdir()} == {0o600}


def test_mandatory_client_authentication_refuses_a_client_without_certificate(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    listener = https_listener(pki, client_authentication="MANDATORY",
                              client_ca=pki.client_ca.cert_pem,
                              insert_headers={"X-SSL-Client-Verify": "true",
                                              "X-SSL-Client-CN": "true"})
    driver.deploy(make_tree(lb_id, listener), net.bridge)

    assert curl(net, pki).code == 0
    good = with_cert(net, "good", pki.client_ca.issue("good client", client=True))
    answer = curl(net, pki, *good)
    assert answer.code == 200, answer.error
    headers = answer.backend()["headers"]
    assert headers["x-ssl-client-verify"] == "0"
    assert headers["x-ssl-client-cn"] == "good client"
    stranger = Authority.create("stranger CA").issue("stranger", client=True)
    assert curl(net, pki, *with_cert(net, "stranger", stranger)).code == 0


def test_revoked_client_certificate_is_refused(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    revoked = pki.client_ca.issue("revoked client", client=True)
    good = pki.client_ca.issue("good client", client=True)
    pki.client_ca.revoke(revoked)
    listener = https_listener(pki, client_authentication="MANDATORY",
                              client_ca=pki.client_ca.cert_pem,
                              client_crl=pki.client_ca.crl_pem())
    driver.deploy(make_tree(lb_id, listener), net.bridge)

    assert curl(net, pki, *with_cert(net, "good", good)).code == 200
    assert curl(net, pki, *with_cert(net, "revoked", revoked)).code == 0
    without_crl = listener.model_copy(update={"client_crl": None})
    driver.deploy(make_tree(lb_id, without_crl), net.bridge)
    assert curl(net, pki, *with_cert(net, "revoked", revoked)).code == 200


def test_optional_client_authentication_headers_and_ssl_l7_rules(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    """Without a certificate: pool A. With one: pool B (SSL_CONN_HAS_CERT and
    SSL_VERIFY_RESULT 0), or pool C when its CN is "special client" (SSL_DN_FIELD)."""
    def rule(rule_id: str, rule_type: str, value: str, key: str | None = None) -> L7RuleNode:
        return L7RuleNode(id=rule_id, type=rule_type, compare_type="EQUAL_TO", key=key,
                          value=value)

    policies = [
        L7PolicyNode(id="p-special", action="REDIRECT_TO_POOL", position=1,
                     redirect_pool_id="pool-c",
                     rules=[rule("r-dn", "SSL_DN_FIELD", "special client", key="CN")]),
        L7PolicyNode(id="p-cert", action="REDIRECT_TO_POOL", position=2,
                     redirect_pool_id="pool-b",
                     rules=[rule("r-cert", "SSL_CONN_HAS_CERT", "True"),
                            rule("r-verify", "SSL_VERIFY_RESULT", "0")]),
    ]
    headers = ["X-SSL-Client-Verify", "X-SSL-Client-Has-Cert", "X-SSL-Client-CN",
               "X-SSL-Client-DN", "X-SSL-Issuer", "X-SSL-Client-SHA1"]
    listener = https_listener(pki, client_authentication="OPTIONAL",
                              client_ca=pki.client_ca.cert_pem, l7policies=policies,
                              insert_headers={name: "true" for name in headers})
    pools = [web_pool("pool-a", 80), web_pool("pool-b", 81), web_pool("pool-c", 82)]
    driver.deploy(make_tree(lb_id, listener, pools), net.bridge)

    anonymous = curl(net, pki)
    assert anonymous.code == 200, anonymous.error
    assert anonymous.backend()["name"] == "A"
    assert anonymous.backend()["headers"]["x-ssl-client-has-cert"] == "0"

    ordinary = pki.client_ca.issue("ordinary client", client=True)
    answer = curl(net, pki, *with_cert(net, "ordinary", ordinary))
    assert answer.backend()["name"] == "B"
    seen = answer.backend()["headers"]
    assert (seen["x-ssl-client-verify"], seen["x-ssl-client-has-cert"]) == ("0", "1")
    assert seen["x-ssl-client-cn"] == "ordinary client"
    assert "CN=ordinary client" in seen["x-ssl-client-dn"]
    assert "CN=lbaas tls e2e client CA" in seen["x-ssl-issuer"]
    sha1 = ordinary.cert.fingerprint(hashes.SHA1()).hex()
    assert seen["x-ssl-client-sha1"].strip('"').lower() == sha1

    special = pki.client_ca.issue("special client", client=True)
    assert curl(net, pki, *with_cert(net, "special", special)).backend()["name"] == "C"
    stranger = Authority.create("stranger CA").issue("special client", client=True)
    assert curl(net, pki, *with_cert(net, "stranger", stranger)).code == 0  # unverifiable


def test_h2_is_negotiated_only_when_offered_and_hsts_is_sent(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    listener = https_listener(pki, alpn_protocols=["h2", "http/1.1"], hsts_max_age=300,
                              hsts_include_subdomains=True)
    driver.deploy(make_tree(lb_id, listener), net.bridge)
    answer = curl(net, pki, "--http2")
    assert (answer.code, answer.version) == (200, "2"), answer.error
    assert answer.headers["strict-transport-security"] == "max-age=300; includeSubDomains"
    assert curl(net, pki, "--http1.1").version == "1.1"

    only_http11 = listener.model_copy(update={"alpn_protocols": ["http/1.1"],
                                              "hsts_max_age": None})
    driver.deploy(make_tree(lb_id, only_http11), net.bridge)
    answer = curl(net, pki, "--http2")
    assert (answer.code, answer.version) == (200, "1.1"), answer.error
    assert "strict-transport-security" not in answer.headers


def test_tls_versions_limit_the_handshake(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    tls12 = https_listener(pki, tls_versions=["TLSv1.2"])
    driver.deploy(make_tree(lb_id, tls12), net.bridge)
    assert served_cn(net, NAME, "-tls1_2") == NAME
    assert served_cn(net, NAME, "-tls1_3") is None

    tls13 = tls12.model_copy(update={"tls_versions": ["TLSv1.3"]})
    driver.deploy(make_tree(lb_id, tls13), net.bridge)
    assert served_cn(net, NAME, "-tls1_3") == NAME
    assert served_cn(net, NAME, "-tls1_2") is None


# --- re-encryption ------------------------------------------------------------------------------


def reencrypting_tree(lb_id: str, members: list[MemberNode], monitor_type: str = "HTTP",
                      **pool: Any) -> LoadBalancerTree:
    monitor = HealthMonitorNode(id="hm-1", type=monitor_type, delay=1, timeout=1, max_retries=1,
                                max_retries_down=1)
    tls_pool = PoolNode(id="pool-tls", protocol="HTTP", lb_algorithm="ROUND_ROBIN",
                        members=members, healthmonitor=monitor, tls_enabled=True, **pool)
    listener = ListenerNode(id="listener-http", protocol="HTTP", protocol_port=80,
                            default_pool_id="pool-tls")
    return make_tree(lb_id, listener, [tls_pool])


def test_reencryption_reaches_tls_members_and_checks_their_certificates(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    signed = net.lab.host("n1", net.bridge, f"{SUBNET}.21/24")
    unsigned = net.lab.host("n2", net.bridge, f"{SUBNET}.22/24")
    nginx(net, signed, "signed", pki.member_ca.issue("member one"))
    nginx(net, unsigned, "unsigned", Authority.create("rogue CA").issue("member two"))
    members = [MemberNode(id="m-signed", address=signed.address, protocol_port=443),
               MemberNode(id="m-unsigned", address=unsigned.address, protocol_port=443)]
    tree = reencrypting_tree(lb_id, members, ca_certificate=pki.member_ca.cert_pem)
    driver.deploy(tree, net.bridge)

    expected = {"m-signed": "ONLINE", "m-unsigned": "ERROR"}
    assert wait_until(lambda: member_health(driver, tree) == expected), member_health(driver, tree)
    servers = driver.process(lb_id).stats().show_stat().servers
    assert servers[("pool-tls", "m-unsigned")].check_status.startswith("L6")  # the handshake
    for _ in range(4):
        code, body = http_get(net)
        assert (code, body.split(" dn=")[0]) == (200, "nginx signed")

    unverified = reencrypting_tree(lb_id, members)  # no CA: verify none, both serve
    driver.deploy(unverified, net.bridge)
    both = {"m-signed": "ONLINE", "m-unsigned": "ONLINE"}
    assert wait_until(lambda: member_health(driver, unverified) == both)


def test_tls_hello_check_of_a_tls_pool_speaks_its_own_hello(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    """TLS-HELLO writes a ClientHello on a plain connection (no-check-ssl): wrapped in the
    pool's TLS it would reach nginx as garbage inside a session, and fail."""
    member_host = net.lab.host("n1", net.bridge, f"{SUBNET}.21/24")
    nginx(net, member_host, "hello", pki.member_ca.issue("member"))
    members = [MemberNode(id="m-hello", address=member_host.address, protocol_port=443)]
    tree = reencrypting_tree(lb_id, members, monitor_type="TLS-HELLO",
                             ca_certificate=pki.member_ca.cert_pem)
    driver.deploy(tree, net.bridge)
    assert wait_until(lambda: member_health(driver, tree) == {"m-hello": "ONLINE"})
    assert http_get(net)[0] == 200


def test_pool_client_certificate_reaches_a_member_that_requires_one(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    member_host = net.lab.host("n1", net.bridge, f"{SUBNET}.21/24")
    nginx(net, member_host, "strict", pki.member_ca.issue("member"), client_ca=pki.client_ca)
    members = [MemberNode(id="m-strict", address=member_host.address, protocol_port=443)]
    without = reencrypting_tree(lb_id, members, ca_certificate=pki.member_ca.cert_pem)
    driver.deploy(without, net.bridge)
    # nginx answers 400 (no required SSL certificate was sent), to the check as well: DOWN.
    assert wait_until(lambda: member_health(driver, without) == {"m-strict": "ERROR"})
    assert http_get(net)[0] == 503

    client_cert = node("pool-client", pki.client_ca.issue("lbaas pool client", client=True))
    with_client_cert = without.model_copy(update={"pools": [
        without.pools[0].model_copy(update={"tls_certificate": client_cert})]})
    driver.deploy(with_client_cert, net.bridge)
    assert wait_until(lambda: member_health(driver, with_client_cert) == {"m-strict": "ONLINE"})
    code, body = http_get(net)
    assert (code, body.strip()) == (200, "nginx strict dn=CN=lbaas pool client")


# --- certificate changes ------------------------------------------------------------------------


def test_certificate_rotation_drops_no_connection(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    old, new = pki.server_ca.issue(NAME), pki.server_ca.issue(NAME)
    listener = https_listener(pki, default_tls=node("cert-rotating", old))
    driver.deploy(make_tree(lb_id, listener), net.bridge)
    old_files = set(p.name for p in certs_dir(driver, lb_id).iterdir())
    stop = threading.Event()
    cafile = str(write_ca(net, pki.server_ca))
    loop = (tls_loop, stop, VIP, NAME, cafile, 0.004)
    with in_background(lambda: net.client.call(*loop)) as outcome:
        time.sleep(0.7)
        rotated = listener.model_copy(update={"default_tls": node("cert-rotating", new)})
        assert driver.deploy(make_tree(lb_id, rotated), net.bridge) is Action.RELOADED
        time.sleep(0.7)
        stop.set()
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert result["failures"] == [] and result["done"] > 50, result["failures"][:5]
    assert set(result["serials"]) == {old.serial, new.serial}
    assert result["serials"][-1] == new.serial
    assert not old_files & set(p.name for p in certs_dir(driver, lb_id).iterdir())


def test_a_rejected_certificate_leaves_the_running_files_intact(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    listener = https_listener(pki)
    driver.deploy(make_tree(lb_id, listener), net.bridge)
    certs = certs_dir(driver, lb_id)
    before = {p.name: p.read_text() for p in certs.iterdir()}
    config = driver.process(lb_id).paths.config.read_text()
    broken = CertificateNode(id="cert-default", private_key=pki.default.key_pem,
                             certificate="-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
                                         "-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigRejected):
        driver.deploy(make_tree(lb_id, https_listener(pki, default_tls=broken)), net.bridge)

    assert driver.process(lb_id).paths.config.read_text() == config
    assert {name: (certs / name).read_text() for name in before} == before
    assert served_cn(net, NAME) == NAME
    driver.deploy(make_tree(lb_id, listener), net.bridge)  # the next good apply prunes
    assert {p.name for p in certs.iterdir()} == set(before)


def test_hostile_names_in_a_certificate_change_nothing_else(
    driver: HaproxyNamespaceDriver, net: TlsLab, lb_id: str, pki: Pki
) -> None:
    """A certificate whose CN, SAN and O carry newlines, quotes and crt-list syntax
    (``[verify none]``) deploys; client authentication still holds and the crt-list still
    names files only."""
    hostile = "evil.example\n[verify none] *\n'\"#"
    issued = pki.server_ca.issue(
        hostile, dns_names=["evil.example", "x\n[verify none] *.example"],
        subject_extra=[x509.NameAttribute(NameOID.ORGANIZATION_NAME, "[ca-file /etc/passwd]")])
    mandatory: dict[str, Any] = {"client_authentication": "MANDATORY",
                                 "client_ca": pki.client_ca.cert_pem}
    benign = make_tree(lb_id, https_listener(pki, sni_tls=[node("sni-x", pki.default)],
                                             **mandatory))
    driver.deploy(benign, net.bridge)
    benign_config = driver.process(lb_id).paths.config.read_text()

    tree = make_tree(lb_id, https_listener(pki, sni_tls=[node("sni-x", issued)], **mandatory))
    assert driver.deploy(tree, net.bridge) is Action.RELOADED

    config = driver.process(lb_id).paths.config.read_text()
    digest = re.compile(r"\.[0-9a-f]{32}\.")
    assert digest.sub(".", config) == digest.sub(".", benign_config)
    crt_list = next(p for p in certs_dir(driver, lb_id).iterdir() if p.suffix == ".crt-list")
    lines = crt_list.read_text().splitlines()
    assert len(lines) == 2 and all(re.fullmatch(r"/[A-Za-z0-9/_.-]+\.pem", ln) for ln in lines)
    assert curl(net, pki, name="evil.example").code == 0  # still MANDATORY: no certificate
    good = with_cert(net, "good", pki.client_ca.issue("good client", client=True))
    assert curl(net, pki, *good, name="evil.example").code == 200
    served = served_cn(net, "evil.example", "-cert", good[1], "-key", good[3])
    assert served is not None and served.startswith("evil.example")
