"""Leases: a named job that one process at a time may run, taken over when its holder stops.

Housekeeping (:mod:`lbaas.services.housekeeping`) runs in every ``lbaas server``; before each
pass it calls :func:`hold`, and only the holder of the ``housekeeping`` lease acts. The holder
renews the lease at every pass; when it dies, the lease expires and the next server to ask takes
it. Taking and renewing are one compare-and-set ``UPDATE`` (or the ``INSERT`` of the first
holder), so two servers never both hold a lease, on any database.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lbaas.db.engine import write_session
from lbaas.db.models import Lease, utcnow


def hold(sessions: sessionmaker[Session], name: str, holder: str, seconds: float) -> bool:
    """Take or renew lease ``name`` for ``holder`` for ``seconds``; False while another
    holder's lease runs."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=seconds)
    try:
        with write_session(sessions) as session:
            result = session.execute(
                update(Lease)
                .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
                .values(holder=holder, expires_at=expires)
                .execution_options(synchronize_session=False))
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if session.get(Lease, name) is not None:
                return False
            session.add(Lease(name=name, holder=holder, expires_at=expires))
    except IntegrityError:  # another holder inserted it first
        return False
    return True


def release(sessions: sessionmaker[Session], name: str, holder: str) -> None:
    """Give lease ``name`` up at once (a server stopping), if ``holder`` holds it."""
    with write_session(sessions) as session:
        session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                        .values(expires_at=utcnow() - dt.timedelta(seconds=1))
                        .execution_options(synchronize_session=False))
