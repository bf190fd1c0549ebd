"""Who uses a stored secret or container: the listeners and pools whose TLS references name it,
and the containers that hold a secret.

Called by :mod:`lbaas.services.secrets` (deleting something in use is refused with 409, and
``SecretStore.in_use`` for the load balancer service). References are URLs (any host) or bare
ids: a ``LIKE`` on the id narrows the rows in SQL, :func:`parse_ref`-style matching in Python
decides.
"""

from __future__ import annotations

import uuid

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from lbaas.core.status import Provisioning
from lbaas.db.models import ContainerSecret, Listener, Pool

LISTENER_REFS = ("default_tls_container_ref", "client_ca_tls_container_ref",
                 "client_crl_container_ref")
LISTENER_REF_LISTS = ("sni_container_refs",)
POOL_REFS = ("tls_container_ref", "ca_tls_container_ref", "crl_container_ref")


def containers_holding(session: Session, secret_id: str) -> list[str]:
    """Ids of the containers that hold ``secret_id``."""
    return sorted(set(session.scalars(select(ContainerSecret.container_id)
                                      .where(ContainerSecret.secret_id == secret_id))))


def users_of(session: Session, obj_id: str) -> list[str]:
    """Ids of the listeners and pools (not DELETED) whose TLS references name ``obj_id``, or a
    container holding it; sorted."""
    wanted = {obj_id, *containers_holding(session, obj_id)}
    found: set[str] = set()
    for model, singles, lists in ((Listener, LISTENER_REFS, LISTENER_REF_LISTS),
                                  (Pool, POOL_REFS, ())):
        columns = [getattr(model, name) for name in singles]
        list_columns = [getattr(model, name) for name in lists]
        clauses: list[ColumnElement[bool]] = []
        for target in wanted:
            clauses += [column.like(f"%{target}%") for column in columns]
            clauses += [cast(column, String).like(f"%{target}%") for column in list_columns]
        rows = session.execute(
            select(model.id, *columns, *list_columns)
            .where(model.provisioning_status != Provisioning.DELETED, or_(*clauses))).all()
        for row in rows:
            refs: list[str] = [ref for ref in row[1:1 + len(columns)] if ref]
            for values in row[1 + len(columns):]:
                refs += [ref for ref in (values or []) if isinstance(ref, str)]
            if any(ref_id(ref) in wanted for ref in refs):
                found.add(row[0])
    return sorted(found)


def ref_id(ref: str) -> str | None:
    """The uuid a reference ends with (a URL's last path segment, or the bare id)."""
    last = ref.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    try:
        return str(uuid.UUID(last))
    except ValueError:
        return None

