"""Reading the TLS material tenants store: certificates with their keys (a PKCS12 bundle, a PEM
bundle, or the parts of a certificate container), CA bundles and CRLs, and checking them.

Pure functions over bytes (``cryptography``), called by :mod:`lbaas.services.tls` when a listener
or pool naming a secret is created or changed (a 400 then says what is wrong) and when its tree is
built for an agent (the PEM written into the tree is re-encoded from the parsed objects, so
nothing but certificates and keys reaches the agent's files). Messages name the field and the
problem, never the secret's content.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from lbaas.core.errors import InvalidInput

CLOCK_SKEW = datetime.timedelta(minutes=5)
"""How far in the future a certificate's ``notBefore`` may be (clocks differ a little)."""
SUPPORTED_TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
"""What haproxy's OpenSSL 3 can speak (SSLv3 is gone from it)."""
ServingKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | \
    ed448.Ed448PrivateKey | dsa.DSAPrivateKey


class CertificateRefused(InvalidInput):
    """A stored certificate, key, CA bundle or CRL that cannot be used (400)."""


@dataclass(frozen=True)
class KeyPair:
    """A certificate haproxy can present: PEM of the certificate then its intermediates, and
    the unencrypted PEM (PKCS8) of its key."""

    certificate_pem: str
    private_key_pem: str
    names: tuple[str, ...]
    """The certificate's DNS names (SAN) and common name, lower-cased."""
    not_after: datetime.datetime


def _pem(certificates: Iterable[x509.Certificate]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _is_pem(payload: bytes) -> bool:
    return b"-----BEGIN " in payload


def _certificates(payload: bytes, label: str) -> list[x509.Certificate]:
    """Every certificate of a PEM, DER or PKCS7 payload (an empty list when none)."""
    try:
        if _is_pem(payload):
            if b"-----BEGIN PKCS7-----" in payload:
                return list(pkcs7.load_pem_pkcs7_certificates(payload))
            if b"-----BEGIN CERTIFICATE-----" not in payload:
                return []
            return list(x509.load_pem_x509_certificates(payload))
        try:
            return [x509.load_der_x509_certificate(payload)]
        except ValueError:
            return list(pkcs7.load_der_pkcs7_certificates(payload))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateRefused(f"{label}: the certificates do not parse ({_reason(exc)}).") \
            from None


def _reason(exc: Exception) -> str:
    """A parser's complaint, cut short: it never quotes the input."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _private_key(payload: bytes, passphrase: bytes | None, label: str) -> ServingKey:
    try:
        if _is_pem(payload):
            key = serialization.load_pem_private_key(payload, passphrase)
        else:
            key = serialization.load_der_private_key(payload, passphrase)
    except TypeError:
        raise CertificateRefused(
            f"{label}: the private key is encrypted; store it without a passphrase or give "
            "the container's private_key_passphrase.") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateRefused(f"{label}: the private key does not parse ({_reason(exc)}).") \
            from None
    if not isinstance(key, ServingKey):
        raise CertificateRefused(f"{label}: a {type(key).__name__} cannot serve TLS.")
    return key


def _leaf_for(key: ServingKey, certificates: Sequence[x509.Certificate], label: str
              ) -> x509.Certificate:
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    for cert in certificates:
        if cert.public_key().public_bytes(
                serialization.Encoding.DER,
                serialization.PublicFormat.SubjectPublicKeyInfo) == public:
            return cert
    raise CertificateRefused(f"{label}: the private key does not match the certificate.")


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names.extend(san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        pass
    names.extend(str(attr.value) for attr in
                 cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME))
    return tuple(dict.fromkeys(name.lower() for name in names))


def _check_validity(cert: x509.Certificate, label: str, now: datetime.datetime) -> None:
    if cert.not_valid_after_utc < now:
        raise CertificateRefused(f"{label}: the certificate expired on "
                                 f"{cert.not_valid_after_utc.isoformat()}.")
    if cert.not_valid_before_utc > now + CLOCK_SKEW:
        raise CertificateRefused(f"{label}: the certificate is not valid before "
                                 f"{cert.not_valid_before_utc.isoformat()}.")


def _key_pair(key: ServingKey, certificates: Sequence[x509.Certificate], label: str,
              now: datetime.datetime | None) -> KeyPair:
    if not certificates:
        raise CertificateRefused(f"{label}: no certificate found.")
    leaf = _leaf_for(key, certificates, label)
    _check_validity(leaf, label, now or _now())
    names = _names(leaf)
    if not names:
        raise CertificateRefused(f"{label}: the certificate names no host (no common name and "
                                 "no DNS subject alternative name).")
    chain = [c for c in certificates if c is not leaf]
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return KeyPair(_pem([leaf, *chain]), key_pem, names, leaf.not_valid_after_utc)


def load_key_pair(payload: bytes, *, label: str,
                  now: datetime.datetime | None = None) -> KeyPair:
    """A secret holding a certificate and its key: a PKCS12 bundle without passphrase
    (Octavia's cookbook), or PEM text with the certificate, its intermediates and the key."""
    if _is_pem(payload):
        certificates = _certificates(payload, label)
        return _key_pair(_private_key(payload, None, label), certificates, label, now)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(payload, None)
    except ValueError as exc:
        if "password" in str(exc).lower() or "mac" in str(exc).lower():
            raise CertificateRefused(f"{label}: the PKCS12 bundle is protected by a passphrase; "
                                     "export it with an empty one (-passout pass:).") from None
        raise CertificateRefused(f"{label}: neither a PKCS12 bundle nor PEM "
                                 f"({_reason(exc)}).") from None
    if key is None or cert is None:
        raise CertificateRefused(f"{label}: the PKCS12 bundle holds no "
                                 f"{'private key' if key is None else 'certificate'}.")
    if not isinstance(key, ServingKey):
        raise CertificateRefused(f"{label}: a {type(key).__name__} cannot serve TLS.")
    return _key_pair(key, [cert, *extra], label, now)


def load_key_pair_parts(certificate: bytes, private_key: bytes, *,
                        intermediates: bytes | None = None, passphrase: bytes | None = None,
                        label: str, now: datetime.datetime | None = None) -> KeyPair:
    """A certificate container: its certificate, private key, intermediates (PEM or PKCS7) and
    the key's passphrase."""
    certificates = _certificates(certificate, label)[:1]
    if intermediates:
        certificates += _certificates(intermediates, label)
    return _key_pair(_private_key(private_key, passphrase or None, label), certificates, label,
                     now)


def load_ca_bundle(payload: bytes, *, label: str) -> tuple[str, list[x509.Certificate]]:
    """A CA bundle: one or more certificates (PEM, DER or PKCS7); its PEM and the certificates."""
    certificates = _certificates(payload, label)
    if not certificates:
        raise CertificateRefused(f"{label}: no CA certificate found; it must be an X.509 "
                                 "certificate in PEM format.")
    return _pem(certificates), certificates


def load_crl(payload: bytes, authorities: Sequence[x509.Certificate], *, label: str) -> str:
    """A certificate revocation list (PEM or DER) signed by one of ``authorities``; its PEM."""
    try:
        crl = (x509.load_pem_x509_crl(payload) if _is_pem(payload)
               else x509.load_der_x509_crl(payload))
    except ValueError as exc:
        raise CertificateRefused(f"{label}: the revocation list does not parse "
                                 f"({_reason(exc)}); it must be an X.509 CRL in PEM format.") \
            from None
    for authority in authorities:
        public = authority.public_key()
        try:
            if crl.issuer == authority.subject and crl.is_signature_valid(public):  # type: ignore[arg-type]
                return crl.public_bytes(serialization.Encoding.PEM).decode()
        except (TypeError, UnsupportedAlgorithm):
            continue
    raise CertificateRefused(f"{label}: the revocation list is not signed by the CA it goes "
                             "with.")


def check_ciphers(ciphers: str, *, label: str) -> None:
    """400 unless OpenSSL here accepts the cipher string (the agents' haproxy links the same
    OpenSSL) and it selects at least one cipher."""
    if not ciphers.isascii() or not ciphers.isprintable() or " " in ciphers.strip():
        raise CertificateRefused(f"{label}: an OpenSSL cipher string has no spaces or control "
                                 "characters.")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.set_ciphers(ciphers)
    except ssl.SSLError:
        raise CertificateRefused(f"{label}: OpenSSL selects no cipher from {ciphers!r}.") \
            from None


def check_tls_versions(versions: Iterable[str], *, label: str) -> None:
    """400 for a TLS version haproxy cannot speak."""
    unsupported = [v for v in versions if v not in SUPPORTED_TLS_VERSIONS]
    if unsupported:
        raise CertificateRefused(f"{label}: {', '.join(unsupported)} not supported; supported: "
                                 f"{', '.join(SUPPORTED_TLS_VERSIONS)}.")
