"""Certificates for the TLS tests, made on the fly with ``cryptography``: a CA, server and client
certificates it signs (with the names and validity a test asks for), CRLs, and the bundles tenants
store (PEM, and PKCS12 as Octavia's cookbook exports it: no passphrase).

Keys are EC P-256 (fast to make); ``rsa=True`` gives a 2048-bit RSA key where a test needs one.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
ONE_DAY = datetime.timedelta(days=1)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_key(use_rsa: bool) -> PrivateKey:
    if use_rsa:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@dataclass
class Issued:
    """A certificate with its key and the chain above it (intermediates, not the root)."""

    cert: x509.Certificate
    key: PrivateKey
    chain: list[x509.Certificate] = field(default_factory=list)

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return _key_pem(self.key)

    @property
    def chain_pem(self) -> str:
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.chain)

    @property
    def bundle_pem(self) -> str:
        """Certificate, intermediates and key in one PEM (what haproxy's ``crt`` reads)."""
        return self.cert_pem + self.chain_pem + self.key_pem

    def pkcs12(self, passphrase: bytes | None = None) -> bytes:
        """The PKCS12 bundle of Octavia's cookbook (``openssl pkcs12 -export -passout pass:``)."""
        encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                      else serialization.NoEncryption())
        return pkcs12.serialize_key_and_certificates(
            b"tls", self.key, self.cert, self.chain or None, encryption)

    @property
    def serial(self) -> int:
        return self.cert.serial_number


@dataclass
class Authority:
    """A CA that issues server and client certificates and revokes them."""

    name: str
    cert: x509.Certificate
    key: PrivateKey
    revoked: list[int] = field(default_factory=list)

    @classmethod
    def create(cls, name: str = "lbaas test CA", *, use_rsa: bool = False) -> Authority:
        key = _new_key(use_rsa)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(_now() - ONE_DAY).not_valid_after(_now() + 365 * ONE_DAY)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                             crl_sign=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                               critical=False)
                .sign(key, hashes.SHA256()))
        return cls(name, cert, key)

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, common_name: str, *, dns_names: list[str] | None = None,
              client: bool = False, not_before: datetime.datetime | None = None,
              not_after: datetime.datetime | None = None, use_rsa: bool = False,
              subject_extra: list[x509.NameAttribute] | None = None) -> Issued:
        """A server certificate for ``common_name`` (and ``dns_names`` as SANs), or a client
        certificate with ``client``; valid from yesterday for 90 days unless told otherwise."""
        key = _new_key(use_rsa)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                             *(subject_extra or [])])
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before or _now() - ONE_DAY)
                   .not_valid_after(not_after or _now() + 90 * ONE_DAY)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.key.public_key()), critical=False))
        names = dns_names if dns_names is not None else ([] if client else [common_name])
        if names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        return Issued(builder.sign(self.key, hashes.SHA256()), key)

    def revoke(self, issued: Issued) -> None:
        self.revoked.append(issued.serial)

    def crl_pem(self) -> str:
        """The CRL listing every certificate revoked so far (valid from yesterday, a week)."""
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.cert.subject)
                   .last_update(_now() - ONE_DAY).next_update(_now() + 7 * ONE_DAY))
        for serial in self.revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial)
                .revocation_date(_now() - ONE_DAY).build())
        return builder.sign(self.key, hashes.SHA256()).public_bytes(
            serialization.Encoding.PEM).decode()


def self_signed(common_name: str, *, dns_names: list[str] | None = None) -> Issued:
    """A self-signed server certificate (its own CA)."""
    authority = Authority.create(common_name)
    return Issued(authority.cert, authority.key) if dns_names is None else \
        authority.issue(common_name, dns_names=dns_names)
