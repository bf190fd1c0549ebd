"""The built-in secret store's domain: secrets and containers of a project, encrypted at rest,
and the read interface the load balancer service uses for TLS references.

Called by the key-manager API (``lbaas/api/key_manager/``: create, find, list, delete, the
payload) and by the load balancer service (:meth:`SecretStore.read`, :meth:`SecretStore.in_use`).
Who may do what (Barbican's policy) is the API's business; here every read names the project
it is confined to, and another project's object is as unknown as a missing one. A payload
leaves this module only decrypted for its caller; it is never logged.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lbaas.core.context import RequestContext
from lbaas.core.errors import Conflict, NotFound
from lbaas.db.models import ContainerSecret, Secret, SecretContainer, new_id, utcnow
from lbaas.services.secret_cipher import SecretCipher
from lbaas.services.secret_usage import containers_holding, users_of

SECRET_TYPES = ("symmetric", "public", "private", "passphrase", "certificate", "opaque")
"""Barbican's secret types."""
CONTAINER_TYPES = ("generic", "rsa", "certificate")
"""Barbican's container types."""
ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class StoredSecret:
    """A secret as the load balancer service reads it."""

    id: str
    payload: bytes  # plaintext, decrypted
    content_type: str  # e.g. "application/octet-stream", "text/plain"
    secret_type: str

    def __repr__(self) -> str:  # the payload stays out of logs and tracebacks
        return (f"StoredSecret(id={self.id!r}, content_type={self.content_type!r}, "
                f"secret_type={self.secret_type!r}, payload=<{len(self.payload)} bytes>)")


@dataclass(frozen=True)
class StoredContainer:
    """A container as the load balancer service reads it."""

    id: str
    type: str  # "certificate" | "generic" | "rsa"
    secrets: Mapping[str, StoredSecret]  # by name in the container


class SecretNotFound(NotFound):
    """A TLS reference that does not name a readable secret or container of the project."""

    def __init__(self, ref: str) -> None:
        super().__init__("Secret or container", ref)


@dataclass(frozen=True)
class NewSecret:
    """A secret to store (validated by the API's schema); ``payload`` plaintext or None."""

    name: str | None = None
    secret_type: str = "opaque"
    algorithm: str | None = None
    bit_length: int | None = None
    mode: str | None = None
    expiration: dt.datetime | None = None
    payload: bytes | None = None
    content_type: str | None = None

    def __repr__(self) -> str:
        return f"NewSecret(name={self.name!r}, secret_type={self.secret_type!r})"


@dataclass(frozen=True)
class Page:
    """One page of a list and the number of matches in all pages."""

    items: Sequence[Secret] | Sequence[SecretContainer]
    total: int


class SecretStore:
    """Stores, finds and decrypts the secrets and containers of the built-in secret store."""

    def __init__(self, cipher: SecretCipher) -> None:
        self._cipher = cipher

    # The load balancer service's read interface.

    def for_request(self, ctx: RequestContext) -> SecretStore:
        """The reader of one API request: the store itself (it reads by project alike for
        the API and the agents' trees)."""
        return self

    def read(self, session: Session, ref: str, project_id: str
             ) -> StoredSecret | StoredContainer:
        """ref: a full URL whose path ends in /secrets/<uuid> or /containers/<uuid> (any
        host), or a bare uuid (a secret). Raises SecretNotFound when malformed, unknown,
        without payload, or of another project (one message for all, naming the ref)."""
        kind, obj_id = parse_ref(ref)
        if kind is None or obj_id is None:
            raise SecretNotFound(ref)
        if kind == "secrets":
            secret = find_secret(session, obj_id, project_id)
            if secret is None or secret.encrypted_payload is None:
                raise SecretNotFound(ref)
            return self._stored(secret)
        container = find_container(session, obj_id, project_id)
        if container is None:
            raise SecretNotFound(ref)
        secrets: dict[str, StoredSecret] = {}
        for held in container.secret_refs:
            secret = find_secret(session, held.secret_id, project_id)
            if secret is None or secret.encrypted_payload is None:
                raise SecretNotFound(ref)
            secrets[held.name or ""] = self._stored(secret)
        return StoredContainer(id=container.id, type=container.type, secrets=secrets)

    def in_use(self, session: Session, secret_or_container_id: str) -> list[str]:
        """Ids of listeners/pools whose TLS refs name it (or a container holding it) and are
        not DELETED."""
        return users_of(session, secret_or_container_id)

    # Secrets.

    def create_secret(self, session: Session, project_id: str, creator_id: str | None,
                      new: NewSecret) -> Secret:
        secret = Secret(id=new_id(), project_id=project_id, creator_id=creator_id,
                        name=new.name, secret_type=new.secret_type, algorithm=new.algorithm,
                        bit_length=new.bit_length, mode=new.mode, expiration=new.expiration,
                        status=ACTIVE)
        if new.payload is not None:
            secret.payload_content_type = new.content_type
            secret.encrypted_payload = self._cipher.encrypt(new.payload)
        session.add(secret)
        session.flush()
        return secret

    def put_payload(self, secret: Secret, payload: bytes, content_type: str) -> None:
        """The second step of a two-step secret: 409 if it has a payload already."""
        if secret.encrypted_payload is not None:
            raise Conflict("Secret already has data, cannot modify it.")
        secret.payload_content_type = content_type
        secret.encrypted_payload = self._cipher.encrypt(payload)
        secret.updated_at = utcnow()

    def payload(self, secret: Secret) -> bytes | None:
        """The decrypted payload, None for a secret without one."""
        if secret.encrypted_payload is None:
            return None
        return self._cipher.decrypt(secret.encrypted_payload)

    def delete_secret(self, session: Session, secret: Secret) -> None:
        """Delete ``secret``; 409 naming the users while a listener or pool uses it (directly
        or through a container) or a container holds it."""
        users = users_of(session, secret.id)
        if users:
            raise Conflict(in_use_message("Secret", users))
        holders = containers_holding(session, secret.id)
        if holders:
            raise Conflict(f"Secret is held by container(s) {', '.join(holders)}; delete "
                           "them first.")
        session.delete(secret)

    # Containers.

    def create_container(self, session: Session, project_id: str, creator_id: str | None,
                         name: str | None, type_: str,
                         secret_refs: Sequence[tuple[str | None, str]]) -> SecretContainer:
        """A container holding ``secret_refs`` ((name, secret id) pairs); each secret must be
        one of the project's (404 naming the entry otherwise, as Barbican)."""
        for ref_name, secret_id in secret_refs:
            if find_secret(session, secret_id, project_id) is None:
                raise NotFound("Secret provided for", f"'{ref_name}'", "doesn't exist")
        container = SecretContainer(id=new_id(), project_id=project_id, creator_id=creator_id,
                                    name=name, type=type_, status=ACTIVE)
        container.secret_refs = [
            ContainerSecret(container_id=container.id, position=i, name=ref_name,
                            secret_id=secret_id)
            for i, (ref_name, secret_id) in enumerate(secret_refs)]
        session.add(container)
        session.flush()
        return container

    def delete_container(self, session: Session, container: SecretContainer) -> None:
        """Delete ``container`` (not its secrets); 409 naming the users while in use."""
        users = users_of(session, container.id)
        if users:
            raise Conflict(in_use_message("Container", users))
        session.delete(container)

    def _stored(self, secret: Secret) -> StoredSecret:
        assert secret.encrypted_payload is not None
        return StoredSecret(id=secret.id, payload=self._cipher.decrypt(secret.encrypted_payload),
                            content_type=secret.payload_content_type or "",
                            secret_type=secret.secret_type)


def in_use_message(what: str, users: Sequence[str]) -> str:
    return (f"{what} is in use by listener(s) or pool(s) {', '.join(users)}; remove the "
            "reference from them first.")


def parse_ref(ref: str) -> tuple[str | None, str | None]:
    """("secrets" | "containers", uuid) of a reference, or (None, None) when malformed."""
    path = ref.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    parts = path.rsplit("/", 2)
    kind = "secrets" if len(parts) == 1 else parts[-2]
    if kind not in ("secrets", "containers"):
        return None, None
    try:
        return kind, str(uuid.UUID(parts[-1]))
    except ValueError:
        return None, None


def find_secret(session: Session, secret_id: str, project_id: str | None) -> Secret | None:
    """The secret ``secret_id`` of ``project_id`` (of any project when None)."""
    query = select(Secret).where(Secret.id == secret_id)
    if project_id is not None:
        query = query.where(Secret.project_id == project_id)
    return session.scalars(query).first()


def find_container(session: Session, container_id: str, project_id: str | None
                   ) -> SecretContainer | None:
    """The container ``container_id`` of ``project_id`` (of any project when None)."""
    query = select(SecretContainer).where(SecretContainer.id == container_id)
    if project_id is not None:
        query = query.where(SecretContainer.project_id == project_id)
    return session.scalars(query).first()


def list_secrets(session: Session, project_id: str, offset: int, limit: int,
                 name: str | None = None, secret_type: str | None = None,
                 algorithm: str | None = None) -> Page:
    """A page of the project's secrets, oldest first, with Barbican's filters."""
    where = [Secret.project_id == project_id]
    if name:
        where.append(Secret.name == name)
    if secret_type:
        where.append(Secret.secret_type == secret_type)
    if algorithm:
        where.append(Secret.algorithm == algorithm)
    total = session.scalar(select(func.count()).select_from(Secret).where(*where)) or 0
    items = session.scalars(select(Secret).where(*where)
                            .order_by(Secret.created_at, Secret.id)
                            .offset(offset).limit(limit)).all()
    return Page(items, total)


def list_containers(session: Session, project_id: str, offset: int, limit: int,
                    name: str | None = None, type_: str | None = None) -> Page:
    """A page of the project's containers, oldest first."""
    where = [SecretContainer.project_id == project_id]
    if name:
        where.append(SecretContainer.name == name)
    if type_:
        where.append(SecretContainer.type == type_)
    total = session.scalar(select(func.count()).select_from(SecretContainer)
                           .where(*where)) or 0
    items = session.scalars(select(SecretContainer).where(*where)
                            .order_by(SecretContainer.created_at, SecretContainer.id)
                            .offset(offset).limit(limit)).all()
    return Page(items, total)
