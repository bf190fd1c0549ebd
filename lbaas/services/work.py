"""Unit of work: one write transaction, then (only after it commits) the provider calls.

Commit-then-cast: a provider never hears of a change the database does not hold, so an agent never
has to retry "not found"; a lost call is repaired by the agent's periodic sync.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from lbaas.core.context import RequestContext
from lbaas.db import models
from lbaas.db.engine import write_session
from lbaas.services.provider_api import Change, Providers
from lbaas.services.tls import SecretReader

LOG = logging.getLogger(__name__)


@dataclass
class Work:
    session: Session
    ctx: RequestContext
    providers: Providers
    secrets: SecretReader | None = None
    """Where the TLS secrets listeners and pools name are read (None: TLS is refused)."""
    changes: list[tuple[str, Change]] = field(default_factory=list)

    def notify(self, lb: models.LoadBalancer, action: str, obj: Any) -> None:
        """Queue the call telling ``lb``'s provider of ``action`` on ``obj`` (an object of
        ``lb``'s tree, or ``lb`` itself), to run after commit."""
        self.changes.append((lb.provider, Change(action, obj.kind, obj.id, lb.id)))


@contextmanager
def unit_of_work(factory: sessionmaker[Session], providers: Providers,
                 ctx: RequestContext, secrets: SecretReader | None = None) -> Iterator[Work]:
    """Run the body in a write transaction; after commit, dispatch the queued changes."""
    with write_session(factory) as session:
        work = Work(session, ctx, providers, secrets)
        yield work
    for provider, change in work.changes:
        try:
            providers.get(provider).refresh(ctx, change)
        except Exception:
            # The change is committed; housekeeping/agent sync will pick it up.
            LOG.exception("provider %s failed to accept %s", provider, change,
                          extra={"request_id": ctx.request_id})
