"""Who may touch which secret or container: the caller, Barbican's policy against the object's
project, and the URLs references are built from. Used by every route of the secret store.

An object is fetched first (404 when the id is malformed or unknown, Barbican's words), then
the policy rule is checked with the object as target. A refusal is a 404 when the object
belongs to another project (lbaas does not confirm that another project's id exists; Barbican
answers 403) and a 403 with Barbican's wording when it is the caller's own (a reader, say).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from lbaas.api.deps import AppServices, get_context
from lbaas.api.key_manager.errors import KeyManagerError
from lbaas.core.context import RequestContext
from lbaas.db.models import Secret, SecretContainer
from lbaas.services.secrets import SecretStore, find_container, find_secret

ROOT = "/key-manager"
"""Where the secret store is served: its own path root, so that its version document is not
Octavia's (python-barbicanclient reads the one at its endpoint)."""
MICROVERSION_KEY = "lbaas.key_manager.microversion"
"""The scope key holding the request's key-manager microversion (``versions.Microversions``)."""

SECRET_NOT_FOUND = "Secret not found."
SECRET_ID_INVALID = "Not Found. Provided secret id is invalid."
CONTAINER_NOT_FOUND = "Secrets container not found."
CONTAINER_ID_INVALID = "Not Found. Provided container id is invalid."


def services_of(request: Request) -> AppServices:
    services: AppServices = request.app.state.services
    return services


def store_of(services: AppServices) -> SecretStore:
    """The built-in store (this API is only served with ``[key_manager] backend = builtin``)."""
    store = services.secrets
    if not isinstance(store, SecretStore):
        raise TypeError("the key-manager API serves the built-in secret store only")
    return store


def base_url(request: Request) -> str:
    """The secret store's URL, without a trailing slash: ``[api] public_endpoint`` or the
    request's own base, then ``/key-manager``."""
    root = services_of(request).conf.api.public_endpoint or str(request.base_url)
    return root.rstrip("/") + ROOT


def microversion(request: Request) -> str:
    return str(request.scope.get(MICROVERSION_KEY, "1.0"))


caller = get_context
"""The authenticated caller (401 otherwise): the same authenticator and tokens as Octavia's
API."""
CallerDep = Annotated[RequestContext, Depends(caller)]


def refused(operation: str) -> KeyManagerError:
    return KeyManagerError(403, f"{operation} attempt not allowed - please review your "
                                "user/project privileges")


def authorize(request: Request, ctx: RequestContext, rule: str, operation: str) -> None:
    """A collection's rule (create, list): 403 in Barbican's words when refused."""
    if not services_of(request).policy.enforce(ctx, rule, {}):
        raise refused(operation)


def secret_for(request: Request, session: Session, ctx: RequestContext, secret_id: str,
               rule: str, operation: str) -> Secret:
    """The secret ``rule`` lets the caller reach (404 or 403 otherwise, see the module)."""
    if not _is_uuid(secret_id):
        raise KeyManagerError(404, SECRET_ID_INVALID)
    secret = find_secret(session, secret_id, None)
    if secret is None:
        raise KeyManagerError(404, SECRET_NOT_FOUND)
    _check_reach(request, ctx, secret, "secret", rule, operation, SECRET_NOT_FOUND)
    return secret


def container_for(request: Request, session: Session, ctx: RequestContext, container_id: str,
                  rule: str, operation: str) -> SecretContainer:
    """The container ``rule`` lets the caller reach (404 or 403 otherwise)."""
    if not _is_uuid(container_id):
        raise KeyManagerError(404, CONTAINER_ID_INVALID)
    container = find_container(session, container_id, None)
    if container is None:
        raise KeyManagerError(404, CONTAINER_NOT_FOUND)
    _check_reach(request, ctx, container, "container", rule, operation, CONTAINER_NOT_FOUND)
    return container


def _check_reach(request: Request, ctx: RequestContext, obj: Secret | SecretContainer,
                 target: str, rule: str, operation: str, not_found: str) -> None:
    """``rule`` against the object's project and creator: refused, another project's object is
    404 (its existence is not confirmed), the caller's own 403 in Barbican's words."""
    facts = {f"target.{target}.project_id": obj.project_id,
             f"target.{target}.creator_id": obj.creator_id or ""}
    if not services_of(request).policy.enforce(ctx, rule, facts):
        if obj.project_id != ctx.project_id:
            raise KeyManagerError(404, not_found)
        raise refused(operation)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
