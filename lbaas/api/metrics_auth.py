"""Who may read the API server's ``/metrics``: the dependency of that route
(``lbaas/api/routes/root.py``).

The fleet metrics name every project's load balancers, so a tenant must not read them. Allowed:
``Authorization: Bearer <token>`` with the token of ``[metrics] token_file`` (what Prometheus
sends from a ``credentials_file``; compared in constant time), or an admin's normal credentials
(whatever ``[api] auth_strategy`` accepts). A wrong or missing credential is 401 with a body
saying what to send; an authenticated non-admin 403.
"""

from __future__ import annotations

from fastapi import Request

from lbaas.api.deps import get_context
from lbaas.core.errors import Forbidden, NotAuthenticated
from lbaas.core.scrape_token import TOKEN_OPTION, WRONG, bearer

CHALLENGE = 'Bearer realm="lbaas-metrics"'
MISSING = ("Authentication required to read the metrics: send 'Authorization: Bearer <token>' "
           f"with the token of {TOKEN_OPTION} (Prometheus), or an admin's credentials.")
NOT_CONFIGURED = (f"This server has no metrics scrape token ({TOKEN_OPTION} is empty): send an "
                  "admin's credentials.")
NOT_ADMIN = ("Only an admin or the metrics scrape token may read the metrics: they name every "
             "project's load balancers.")


async def scrape_allowed(request: Request) -> None:
    """Returns when the caller may read ``/metrics``; raises 401 or 403 otherwise."""
    headers = request.headers
    token = bearer(headers.get("authorization"))
    if token is not None:
        expected = request.app.state.services.scrape_token
        if expected is None:
            raise NotAuthenticated(NOT_CONFIGURED, CHALLENGE)
        if not expected.matches(token):
            raise NotAuthenticated(WRONG, CHALLENGE)
        return
    if "x-auth-token" not in headers and "authorization" not in headers:
        raise NotAuthenticated(MISSING, CHALLENGE)
    ctx = await get_context(request)
    if not ctx.is_admin:
        raise Forbidden(NOT_ADMIN)
