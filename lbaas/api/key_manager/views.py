"""The secret store's answers in Barbican's v1 wire format: a secret's metadata (never its
payload), a container, and a list page with ``total`` and ``next``/``previous`` links."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from lbaas.db.models import Secret, SecretContainer


def timestamp(value: dt.datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() if value is not None else None


def secret_ref(base: str, secret_id: str) -> str:
    return f"{base}/v1/secrets/{secret_id}"


def container_ref(base: str, container_id: str) -> str:
    return f"{base}/v1/containers/{container_id}"


def secret_view(secret: Secret, base: str, microversion: str) -> dict[str, Any]:
    """Barbican's metadata of a secret (``consumers`` from 1.1 on; ``content_types`` once it
    has a payload)."""
    view: dict[str, Any] = {
        "status": secret.status, "created": timestamp(secret.created_at),
        "updated": timestamp(secret.updated_at), "name": secret.name,
        "secret_type": secret.secret_type, "expiration": timestamp(secret.expiration),
        "algorithm": secret.algorithm, "bit_length": secret.bit_length, "mode": secret.mode,
        "creator_id": secret.creator_id, "secret_ref": secret_ref(base, secret.id)}
    if microversion != "1.0":
        view["consumers"] = []
    if secret.encrypted_payload is not None and secret.payload_content_type:
        view["content_types"] = {"default": secret.payload_content_type}
    return view


def container_view(container: SecretContainer, base: str) -> dict[str, Any]:
    return {
        "status": container.status, "created": timestamp(container.created_at),
        "updated": timestamp(container.updated_at), "name": container.name,
        "type": container.type, "creator_id": container.creator_id,
        "container_ref": container_ref(base, container.id),
        "secret_refs": [{"name": held.name, "secret_ref": secret_ref(base, held.secret_id)}
                        for held in container.secret_refs],
        "consumers": []}


def page_view(key: str, items: Sequence[Any], render: Callable[[Any], dict[str, Any]],
              total: int, offset: int, limit: int, collection_url: str,
              query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """``{key: [...], "total": N}`` plus Barbican's ``previous``/``next`` links, which keep
    the request's other query parameters."""
    if not items:
        return {key: [], "total": total}
    body: dict[str, Any] = {key: [render(item) for item in items]}
    kept = [(k, v) for k, v in query if k not in ("limit", "offset")]

    def link(at: int) -> str:
        extra = f"&{urlencode(kept)}" if kept else ""
        return f"{collection_url}?limit={limit}&offset={at}{extra}"

    if offset > 0:
        body["previous"] = link(max(0, offset - limit))
    if total > offset + limit:
        body["next"] = link(offset + limit)
    body["total"] = total
    return body
