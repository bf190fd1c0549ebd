"""``/key-manager/v1/secrets``: store, list, show, read the payload of, add the payload to, and
delete secrets (Barbican's v1 wire format; python-barbicanclient's ``openstack secret ...``).

Thin routes: the body is checked by ``lbaas/schemas/secret.py``, access by ``access.py``, the
work done by ``lbaas/services/secrets.py``. A payload leaves only as the body of a payload read.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from lbaas.api.key_manager.access import (
    CallerDep,
    authorize,
    base_url,
    microversion,
    secret_for,
    services_of,
    store_of,
)
from lbaas.api.key_manager.body import TOO_LARGE, json_body, raw_body
from lbaas.api.key_manager.errors import KeyManagerError, invalid_object
from lbaas.api.key_manager.paging import paging
from lbaas.api.key_manager.views import page_view, secret_ref, secret_view
from lbaas.api.responses import JSONBody, ok
from lbaas.core.context import RequestContext
from lbaas.db.engine import read_session, write_session
from lbaas.db.models import Secret, utcnow
from lbaas.schemas.secret import (
    BINARY,
    PLAIN_TEXT,
    SUPPORTED_CONTENT_TYPES,
    PayloadTooLarge,
    SchemaViolation,
    SecretCreate,
    normalize_content_type,
    parse_expiration,
    parse_model,
    payload_bytes,
)
from lbaas.services.secrets import NewSecret, list_secrets

router = APIRouter()

CREATE = "Secret creation"
RETRIEVE = "Secret retrieval"
PAYLOAD = "Secret payload retrieval"
UPDATE = "Secret update"
DELETE = "Secret deletion"
LIST = "Secret(s) retrieval"


@router.post("/v1/secrets", include_in_schema=False)
@router.post("/v1/secrets/", include_in_schema=False)
async def create_secret(request: Request, ctx: CallerDep) -> JSONBody:
    authorize(request, ctx, "secrets:post", CREATE)
    new = _new_secret(request, await json_body(request, CREATE))
    secret_id = await run_in_threadpool(_store, request, ctx, new)
    ref = secret_ref(base_url(request), secret_id)
    return JSONBody({"secret_ref": ref}, status_code=201, headers={"Location": ref})


def _new_secret(request: Request, raw: object) -> NewSecret:
    conf = services_of(request).conf.key_manager
    try:
        body: SecretCreate = parse_model(SecretCreate, raw)
        payload = payload_bytes(body, conf.max_allowed_secret_in_bytes)
        expiration = parse_expiration(body.expiration, utcnow())
    except SchemaViolation as exc:
        raise invalid_object("Secret", exc.reason, exc.prop, CREATE) from None
    except PayloadTooLarge:
        raise KeyManagerError(413, f"{CREATE} issue seen - {TOO_LARGE}.") from None
    name = body.name.strip() if body.name is not None else None
    return NewSecret(name=name, secret_type=body.secret_type, algorithm=body.algorithm,
                     bit_length=body.bit_length, mode=body.mode, expiration=expiration,
                     payload=payload[0] if payload else None,
                     content_type=payload[1] if payload else None)


def _store(request: Request, ctx: RequestContext, new: NewSecret) -> str:
    services = services_of(request)
    with write_session(services.sessions) as session:
        secret = store_of(services).create_secret(session, ctx.project_id, ctx.user_id or None,
                                                new)
        return secret.id


@router.get("/v1/secrets", include_in_schema=False)
@router.get("/v1/secrets/", include_in_schema=False)
def list_all(request: Request, ctx: CallerDep) -> JSONBody:
    """The caller's project's secrets, oldest first (filters: name, secret_type, alg)."""
    authorize(request, ctx, "secrets:get", LIST)
    query = request.query_params
    offset, limit = paging(query)
    base, version = base_url(request), microversion(request)
    with read_session(services_of(request).sessions) as session:
        page = list_secrets(session, ctx.project_id, offset, limit,
                            name=unquote_plus(query.get("name") or "") or None,
                            secret_type=query.get("secret_type") or None,
                            algorithm=query.get("alg") or None)
        body = page_view("secrets", page.items, lambda s: secret_view(s, base, version),
                         page.total, offset, limit, f"{base}/v1/secrets",
                         list(query.multi_items()))
    return ok(body)


@router.get("/v1/secrets/{secret_id}", include_in_schema=False)
@router.get("/v1/secrets/{secret_id}/", include_in_schema=False)
def show(secret_id: str, request: Request, ctx: CallerDep) -> Response:
    """The metadata; with an ``Accept`` other than JSON, the payload (Barbican's deprecated
    form, under the payload's rule)."""
    accept = request.headers.get("accept")
    if accept not in (None, "application/json", "*/*"):
        return _payload(secret_id, request, ctx, RETRIEVE)
    with read_session(services_of(request).sessions) as session:
        secret = secret_for(request, session, ctx, secret_id, "secret:get", RETRIEVE)
        return ok(secret_view(secret, base_url(request), microversion(request)))


@router.get("/v1/secrets/{secret_id}/payload", include_in_schema=False)
@router.get("/v1/secrets/{secret_id}/payload/", include_in_schema=False)
def payload(secret_id: str, request: Request, ctx: CallerDep) -> Response:
    return _payload(secret_id, request, ctx, PAYLOAD)


def _payload(secret_id: str, request: Request, ctx: RequestContext, operation: str
             ) -> Response:
    """The payload as ``Accept`` asks (none: octet-stream; ``*/*``: as stored), 406 when it
    cannot be given that way, 404 when the secret has none."""
    services = services_of(request)
    with read_session(services.sessions) as session:
        secret = secret_for(request, session, ctx, secret_id, "secret:decrypt", operation)
        plain = store_of(services).payload(secret)
        stored_type = secret.payload_content_type
    if plain is None:
        raise KeyManagerError(404, "Not Found. Sorry but your secret has no payload.")
    accept = (request.headers.get("accept") or "application/octet-stream").strip()
    if accept == "*/*":
        accept = stored_type or "application/octet-stream"
    wrong = KeyManagerError(406, f"{operation} issue seen - Wrong payload content-type.")
    if accept not in SUPPORTED_CONTENT_TYPES:
        raise wrong
    if accept in PLAIN_TEXT:
        try:
            plain.decode("utf-8")
        except UnicodeDecodeError:
            raise wrong from None
    else:
        assert accept in BINARY
    return Response(plain, media_type=accept)


@router.put("/v1/secrets/{secret_id}", include_in_schema=False)
@router.put("/v1/secrets/{secret_id}/", include_in_schema=False)
async def put_payload(secret_id: str, request: Request, ctx: CallerDep) -> Response:
    """The second step of a secret created without payload (Barbican's two-step store)."""
    content_type = request.headers.get("content-type", "")
    if content_type not in ("application/octet-stream", "text/plain"):
        raise KeyManagerError(415, f"Content-Type of '{content_type}' is not supported for "
                                   "PUT.")
    data = await raw_body(request, UPDATE)
    if not data:
        raise KeyManagerError(400, f"{UPDATE} issue seen - No data supplied to process..")
    if request.headers.get("content-encoding", "").lower() == "base64":
        try:
            data = base64.b64decode(data)
        except (binascii.Error, ValueError):
            raise KeyManagerError(400, f"{UPDATE} issue seen - Unable to decode request "
                                       "data..") from None
    if len(data) > services_of(request).conf.key_manager.max_allowed_secret_in_bytes:
        raise KeyManagerError(413, f"{UPDATE} issue seen - {TOO_LARGE}.")
    await run_in_threadpool(_put, request, ctx, secret_id, data,
                            normalize_content_type(content_type))
    return Response(status_code=204)


def _put(request: Request, ctx: RequestContext, secret_id: str, data: bytes,
         content_type: str) -> None:
    services = services_of(request)
    with write_session(services.sessions) as session:
        secret: Secret = secret_for(request, session, ctx, secret_id, "secret:put", UPDATE)
        store_of(services).put_payload(secret, data, content_type)


@router.delete("/v1/secrets/{secret_id}", include_in_schema=False)
@router.delete("/v1/secrets/{secret_id}/", include_in_schema=False)
def delete(secret_id: str, request: Request, ctx: CallerDep) -> Response:
    """204; 409 naming the listeners or pools (or containers) that still use it."""
    services = services_of(request)
    with write_session(services.sessions) as session:
        secret = secret_for(request, session, ctx, secret_id, "secret:delete", DELETE)
        store_of(services).delete_secret(session, secret)
    return Response(status_code=204)


