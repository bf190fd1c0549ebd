"""Reading stored TLS material (lbaas.services.certificates): what is accepted, what is refused
and why, and that what comes out is re-encoded PEM (certificates made by tests/tls_material.py)."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from lbaas.services.certificates import (
    CertificateRefused,
    check_ciphers,
    check_tls_versions,
    load_ca_bundle,
    load_crl,
    load_key_pair,
    load_key_pair_parts,
)
from tests.tls_material import Authority

NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def ca() -> Authority:
    return Authority.create()


def test_pkcs12_without_passphrase_gives_the_certificate_chain_and_key(ca: Authority) -> None:
    intermediate = Authority.create("intermediate")
    served = ca.issue("www.example.com", dns_names=["www.example.com", "Example.com"])
    served.chain.append(intermediate.cert)
    pair = load_key_pair(served.pkcs12(), label="default_tls_container_ref")
    certs = x509.load_pem_x509_certificates(pair.certificate_pem.encode())
    assert certs[0] == served.cert, "the leaf comes first"
    assert certs[1:] == [intermediate.cert]
    key = serialization.load_pem_private_key(pair.private_key_pem.encode(), None)
    assert key.public_key() == served.key.public_key()
    assert pair.names == ("www.example.com", "example.com")


def test_pem_bundle_in_any_order(ca: Authority) -> None:
    served = ca.issue("a.example")
    text = (served.key_pem + ca.cert_pem + served.cert_pem).encode()
    pair = load_key_pair(text, label="x")
    assert x509.load_pem_x509_certificates(pair.certificate_pem.encode())[0] == served.cert


def test_container_parts(ca: Authority) -> None:
    served = ca.issue("b.example")
    encrypted = served.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"))
    pair = load_key_pair_parts(served.cert_pem.encode(), encrypted, passphrase=b"s3cret",
                               intermediates=ca.cert_pem.encode(), label="x")
    assert "BEGIN PRIVATE KEY" in pair.private_key_pem, "stored unencrypted for haproxy"
    with pytest.raises(CertificateRefused, match="encrypted"):
        load_key_pair_parts(served.cert_pem.encode(), encrypted, label="x")


@pytest.mark.parametrize("case", ["mismatched key", "passphrase", "garbage", "expired",
                                  "not yet valid", "no names", "only a key"])
def test_refused_with_the_reason(ca: Authority, case: str) -> None:
    served = ca.issue("c.example")
    other = ca.issue("d.example")
    payload, reason = {
        "mismatched key": ((served.cert_pem + other.key_pem).encode(), "does not match"),
        "passphrase": (served.pkcs12(b"pw"), "passphrase"),
        "garbage": (b"\x00\x01not a certificate", "neither a PKCS12 bundle nor PEM"),
        "expired": (ca.issue("e.example", not_before=NOW - datetime.timedelta(days=10),
                             not_after=NOW - datetime.timedelta(days=1)).pkcs12(), "expired"),
        "not yet valid": (ca.issue("f.example", not_before=NOW + datetime.timedelta(days=1))
                          .pkcs12(), "not valid before"),
        "no names": (ca.issue("g.example", dns_names=[]).pkcs12(), None),
        "only a key": (served.key_pem.encode(), "no certificate"),
    }[case]
    if case == "no names":  # a certificate with neither CN nor SAN
        bare = ca.issue("h.example", dns_names=[])
        builder = (x509.CertificateBuilder().subject_name(x509.Name([]))
                   .issuer_name(ca.cert.subject).public_key(bare.key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - datetime.timedelta(days=1))
                   .not_valid_after(NOW + datetime.timedelta(days=1)))
        from cryptography.hazmat.primitives import hashes
        cert = builder.sign(ca.key, hashes.SHA256())
        payload = (cert.public_bytes(serialization.Encoding.PEM).decode()
                   + bare.key_pem).encode()
        reason = "names no host"
    with pytest.raises(CertificateRefused, match=reason) as refused:
        load_key_pair(payload, label="default_tls_container_ref")
    assert "default_tls_container_ref" in str(refused.value)
    assert "PRIVATE KEY" not in str(refused.value)


def test_hostile_subject_text_is_kept_inside_the_certificate(ca: Authority) -> None:
    hostile = "evil\n[verify none] /etc/shadow\"'"
    served = ca.issue("ok.example", dns_names=["ok.example"],
                      subject_extra=[x509.NameAttribute(NameOID.ORGANIZATION_NAME, hostile)])
    pair = load_key_pair(served.pkcs12(), label="x")
    assert hostile not in pair.certificate_pem
    assert pair.names == ("ok.example",)


def test_ca_bundle_and_its_crl(ca: Authority) -> None:
    other_ca = Authority.create("other")
    pem, certs = load_ca_bundle((ca.cert_pem + other_ca.cert_pem).encode(), label="ca")
    assert certs == [ca.cert, other_ca.cert]
    assert pem.count("BEGIN CERTIFICATE") == 2
    client = ca.issue("alice", client=True)
    ca.revoke(client)
    crl_pem = load_crl(ca.crl_pem().encode(), certs, label="crl")
    crl = x509.load_pem_x509_crl(crl_pem.encode())
    assert crl.get_revoked_certificate_by_serial_number(client.serial) is not None
    with pytest.raises(CertificateRefused, match="not signed by the CA"):
        load_crl(ca.crl_pem().encode(), [other_ca.cert], label="crl")
    with pytest.raises(CertificateRefused, match="does not parse"):
        load_crl(b"-----BEGIN X509 CRL-----\nnope\n-----END X509 CRL-----\n", certs,
                 label="crl")
    with pytest.raises(CertificateRefused, match="do not parse"):
        load_ca_bundle(b"hello", label="ca")
    with pytest.raises(CertificateRefused, match="no CA certificate"):
        load_ca_bundle(b"-----BEGIN PRIVATE KEY-----\n", label="ca")


def test_cipher_strings_and_versions() -> None:
    check_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256", label="c")
    for bad in ("NOT-A-CIPHER", "AES128 ssl-min-ver", "ECDHE\nbind"):
        with pytest.raises(CertificateRefused):
            check_ciphers(bad, label="c")
    check_tls_versions(["TLSv1.2", "TLSv1.3"], label="v")
    with pytest.raises(CertificateRefused, match="SSLv3"):
        check_tls_versions(["SSLv3", "TLSv1.2"], label="v")
