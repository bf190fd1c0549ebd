"""The TLS of listeners and pools: the rules between their TLS attributes, the secrets they name,
and the material the agents' trees carry.

Called by the listener, pool and load balancer services after a create or update has set the
object's attributes (``check_listener``, ``check_pool``: a 400 saying what is wrong before
anything is written), and by :func:`lbaas.services.tree.build_tree` (``listener_material``,
``pool_material``). Secrets are read through a :class:`SecretReader` (the built-in store,
:mod:`lbaas.services.secrets`, or a real Barbican, :mod:`lbaas.services.barbican`), always for
the object's own project: a tenant's listener can only
use that tenant's secrets. Reading rules follow Octavia's API (an SNI or a default certificate;
client authentication needs a CA; a CRL needs a CA and must be signed by it); lbaas also refuses
an expired certificate and TLS attributes on a pool that does not use TLS, which Octavia stores
unused (docs/compatibility.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy.orm import Session

from lbaas.core.context import RequestContext
from lbaas.core.errors import InvalidInput
from lbaas.core.tree import CertificateNode
from lbaas.db import models
from lbaas.schemas.loadbalancer import LoadBalancerCreate
from lbaas.schemas.pool import PoolGraph
from lbaas.services import certificates
from lbaas.services.certificates import KeyPair
from lbaas.services.secrets import SecretNotFound, StoredContainer, StoredSecret
from lbaas.services.validation import terminates_tls

CLIENT_AUTH_REFS = ("client_ca_tls_container_ref", "client_crl_container_ref")
POOL_TLS_REFS = ("tls_container_ref", "ca_tls_container_ref", "crl_container_ref")
POOL_TLS_SETTINGS = ("tls_ciphers", "tls_versions", "alpn_protocols")


class SecretReader(Protocol):
    """Where secrets are read from (the built-in store, or Barbican)."""

    def read(self, session: Session, ref: str, project_id: str
             ) -> StoredSecret | StoredContainer: ...


class SecretSource(SecretReader, Protocol):
    """The server's secret backend (``[key_manager] backend``): itself the reader of the
    agents' trees, and the reader of one API request (``for_request``: the built-in store
    reads alike for both; Barbican reads as the caller, :mod:`lbaas.services.barbican`)."""

    def for_request(self, ctx: RequestContext) -> SecretReader: ...


def _read(reader: SecretReader | None, session: Session, ref: str, project_id: str, field: str
          ) -> StoredSecret | StoredContainer:
    if reader is None:
        raise InvalidInput(f"{field}: this server has no secret store configured.")
    try:
        return reader.read(session, ref, project_id)
    except SecretNotFound:
        raise InvalidInput(f"Could not retrieve certificate: {field} {ref!r} names no secret "
                           "or container of this project.") from None


def _key_pair(stored: StoredSecret | StoredContainer, field: str) -> KeyPair:
    if isinstance(stored, StoredSecret):
        return certificates.load_key_pair(stored.payload, label=field)
    parts = stored.secrets
    if "certificate" not in parts or "private_key" not in parts:
        raise InvalidInput(f"{field}: the container needs a 'certificate' and a 'private_key'.")
    return certificates.load_key_pair_parts(
        parts["certificate"].payload, parts["private_key"].payload,
        intermediates=parts["intermediates"].payload if "intermediates" in parts else None,
        passphrase=(parts["private_key_passphrase"].payload
                    if "private_key_passphrase" in parts else None),
        label=field)


def _single_secret(stored: StoredSecret | StoredContainer, field: str) -> bytes:
    if isinstance(stored, StoredContainer):
        raise InvalidInput(f"{field} must name a secret, not a container.")
    return stored.payload


def _certificate(reader: SecretReader | None, session: Session, ref: str, project_id: str,
                 field: str) -> CertificateNode:
    stored = _read(reader, session, ref, project_id, field)
    pair = _key_pair(stored, field)
    return CertificateNode(id=stored.id, certificate=pair.certificate_pem,
                           private_key=pair.private_key_pem)


def _ca_and_crl(reader: SecretReader | None, session: Session, project_id: str,
                ca_ref: str | None, crl_ref: str | None, ca_field: str, crl_field: str
                ) -> tuple[str | None, str | None]:
    if crl_ref and not ca_ref:
        raise InvalidInput(f"{crl_field} needs {ca_field}: a revocation list goes with the CA "
                           "that signed it.")
    if not ca_ref:
        return None, None
    ca_pem, authorities = certificates.load_ca_bundle(
        _single_secret(_read(reader, session, ca_ref, project_id, ca_field), ca_field),
        label=ca_field)
    crl_pem = None
    if crl_ref:
        crl_pem = certificates.load_crl(
            _single_secret(_read(reader, session, crl_ref, project_id, crl_field), crl_field),
            authorities, label=crl_field)
    return ca_pem, crl_pem


def _check_settings(obj: Any, kind: str) -> None:
    if obj.tls_ciphers:
        certificates.check_ciphers(obj.tls_ciphers, label=f"{kind} tls_ciphers")
    certificates.check_tls_versions(obj.tls_versions or [], label=f"{kind} tls_versions")


def listener_material(reader: SecretReader | None, session: Session, listener: models.Listener
                      ) -> dict[str, Any]:
    """The TLS fields of ``listener``'s tree node read from its secrets (empty unless it is
    TERMINATED_HTTPS or a PROMETHEUS listener with a certificate). Raises
    :class:`InvalidInput` when a secret is missing or unusable."""
    return _listener_material(reader, session, listener, listener.project_id)


def _listener_material(reader: SecretReader | None, session: Session, listener: Any,
                       project: str) -> dict[str, Any]:
    if not terminates_tls(listener.protocol, listener):
        return {}
    default = (_certificate(reader, session, listener.default_tls_container_ref, project,
                            "default_tls_container_ref")
               if listener.default_tls_container_ref else None)
    sni = [_certificate(reader, session, ref, project, "sni_container_refs")
           for ref in dict.fromkeys(listener.sni_container_refs or [])]
    client_ca, client_crl = _ca_and_crl(
        reader, session, project, listener.client_ca_tls_container_ref,
        listener.client_crl_container_ref, "client_ca_tls_container_ref",
        "client_crl_container_ref")
    return {"default_tls": default, "sni_tls": sni, "client_ca": client_ca,
            "client_crl": client_crl}


def pool_material(reader: SecretReader | None, session: Session, pool: models.Pool
                  ) -> dict[str, Any]:
    """The TLS fields of ``pool``'s tree node read from its secrets (empty unless tls_enabled)."""
    return _pool_material(reader, session, pool, pool.project_id)


def _pool_material(reader: SecretReader | None, session: Session, pool: Any, project: str
                   ) -> dict[str, Any]:
    if not pool.tls_enabled:
        return {}
    certificate = (_certificate(reader, session, pool.tls_container_ref, project,
                                "tls_container_ref") if pool.tls_container_ref else None)
    ca, crl = _ca_and_crl(reader, session, project, pool.ca_tls_container_ref,
                          pool.crl_container_ref, "ca_tls_container_ref", "crl_container_ref")
    return {"tls_certificate": certificate, "ca_certificate": ca, "crl": crl}


def _given(names: Iterable[str], given: Iterable[str] | None) -> list[str]:
    return list(names) if given is None else [name for name in names if name in set(given)]


def check_listener(reader: SecretReader | None, session: Session, listener: Any, project: str,
                   given: Iterable[str] | None = None) -> None:
    """400 unless ``listener``'s TLS attributes can be built (Octavia's rules, then every named
    secret of ``project`` read and parsed). ``listener``: its row after an update, or the
    request of a new one (unset attributes None). ``given``: the attributes an update set
    (None: a new listener); a client CA or CRL given while client_authentication is NONE would
    not be applied, so it is refused."""
    if not terminates_tls(listener.protocol, listener):
        return
    client_authentication = listener.client_authentication or "NONE"
    if client_authentication == "NONE":
        unused = [name for name in _given(CLIENT_AUTH_REFS, given) if getattr(listener, name)]
        if unused:
            raise InvalidInput(f"{', '.join(unused)} only apply with client_authentication "
                               "OPTIONAL or MANDATORY.")
    if not listener.default_tls_container_ref and not listener.sni_container_refs:
        raise InvalidInput("An SNI or default certificate container reference must be provided "
                           "for TERMINATED_HTTPS protocol listeners.")
    if client_authentication != "NONE" and not listener.client_ca_tls_container_ref:
        raise InvalidInput(f"Client authentication setting {client_authentication} "
                           "requires a client CA container reference.")
    _check_settings(listener, "listener")
    _listener_material(reader, session, listener, project)


def check_pool(reader: SecretReader | None, session: Session, pool: Any, project: str,
               given: Iterable[str] | None = None) -> None:
    """400 unless ``pool``'s TLS attributes can be built (``pool``: its row after an update, or
    the request of a new one). ``given``: the attributes an update set (None: a new pool);
    TLS attributes given to a pool without TLS would not be applied, so they are refused."""
    if not pool.tls_enabled:
        unused = [name for name in _given((*POOL_TLS_REFS, *POOL_TLS_SETTINGS), given)
                  if getattr(pool, name)]
        if unused:
            raise InvalidInput(f"{', '.join(unused)} only apply to a pool with tls_enabled "
                               "true.")
        return
    _check_settings(pool, "pool")
    _pool_material(reader, session, pool, project)


def check_graph(reader: SecretReader | None, session: Session, project: str,
                data: LoadBalancerCreate) -> None:
    """400 unless every listener and pool of a single-call create can be built (run before the
    load balancer is placed: a refused request takes no VIP and no agent)."""
    for listener in data.listeners:
        check_listener(reader, session, listener, project)
        pools = [listener.default_pool,
                 *(policy.redirect_pool for policy in listener.l7policies)]
        for pool in pools:
            if isinstance(pool, PoolGraph):
                check_pool(reader, session, pool, project)
    for pool in data.pools:
        check_pool(reader, session, pool, project)
