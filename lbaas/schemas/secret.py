"""Request schemas of the secret store (Barbican's v1 wire format) and the checks Barbican
makes beyond them: content types and encodings, payload size, expiration, container shapes.

Called by the key-manager routes (``lbaas/api/key_manager/``). A refused body raises
:class:`SchemaViolation` (the route answers 400 with Barbican's ``Provided object does not match
schema ...`` wording) or :class:`PayloadTooLarge` (413); neither ever quotes a payload.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

SECRET_TYPES = ("symmetric", "public", "private", "passphrase", "certificate", "opaque")
PLAIN_TEXT = ("text/plain", "text/plain;charset=utf-8", "text/plain; charset=utf-8")
BINARY = ("application/octet-stream", "application/pkcs8")
SUPPORTED_CONTENT_TYPES = PLAIN_TEXT + BINARY
"""Barbican's payload content types (what ``Accept`` may ask for, too)."""
ENCODINGS: dict[str, list[str] | None] = {"text/plain": None,
                                          "application/octet-stream": ["base64", "binary"],
                                          "application/pkcs8": ["base64", "binary"]}
CERTIFICATE_NAMES = {"certificate", "private_key", "private_key_passphrase", "intermediates"}
RSA_NAMES = {"public_key", "private_key", "private_key_passphrase"}


class SchemaViolation(Exception):
    """A body Barbican's validator refuses: ``prop`` is the property, ``reason`` why."""

    def __init__(self, prop: str, reason: str) -> None:
        super().__init__(reason)
        self.prop = prop
        self.reason = reason


class PayloadTooLarge(Exception):
    """A payload above ``[key_manager] max_allowed_secret_in_bytes`` (413)."""


class SecretCreate(BaseModel):
    """``POST /v1/secrets``; unknown attributes are ignored, as Barbican's schema allows."""

    model_config = ConfigDict(extra="ignore")

    name: StrictStr | None = Field(None, max_length=255)
    algorithm: StrictStr | None = Field(None, max_length=255)
    mode: StrictStr | None = Field(None, max_length=255)
    bit_length: StrictInt | None = Field(None, ge=1, le=32767)
    expiration: StrictStr | None = Field(None, max_length=255)
    payload: StrictStr | None = None
    secret_type: Literal["symmetric", "public", "private", "passphrase", "certificate",
                         "opaque"] = "opaque"
    payload_content_type: StrictStr | None = Field(None, max_length=255)
    payload_content_encoding: Literal["base64"] | None = None
    transport_key_needed: Literal["true", "false"] | None = None

    def __repr__(self) -> str:  # pydantic's would show the payload
        return f"SecretCreate(name={self.name!r}, secret_type={self.secret_type!r})"

    __str__ = __repr__


class ContainerSecretRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr | None = Field(None, max_length=255)
    secret_ref: StrictStr = Field(min_length=1)


class ContainerCreate(BaseModel):
    """``POST /v1/containers``."""

    model_config = ConfigDict(extra="ignore")

    name: StrictStr | None = Field(None, max_length=255)
    type: Literal["generic", "rsa", "certificate"]
    secret_refs: list[ContainerSecretRef] = Field(default_factory=list)


def parse_model(model: type[BaseModel], body: Any) -> Any:
    """``body`` as ``model``, or SchemaViolation naming the first refused property (its value
    is not repeated)."""
    if not isinstance(body, dict):
        raise SchemaViolation("None", f"{type(body).__name__} is not of type 'object'")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        err = exc.errors(include_input=False)[0]
        loc = [str(p) for p in err.get("loc", ())]
        return _raise(loc[0] if loc else "None", str(err.get("msg", "invalid value")))


def _raise(prop: str, reason: str) -> Any:
    raise SchemaViolation(prop, reason)


def normalize_content_type(content_type: str) -> str:
    """``text/plain; charset=utf-8`` is ``text/plain``; anything else as given, lower-cased."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if content_type in PLAIN_TEXT or mime in BINARY:
        return mime
    return content_type


def parse_expiration(value: str | None, now: dt.datetime) -> dt.datetime | None:
    """A naive UTC datetime in the future, None for none; SchemaViolation otherwise."""
    if value is None or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise SchemaViolation("expiration", "Invalid date for 'expiration'") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    if parsed <= now:
        raise SchemaViolation("expiration", "'expiration' is before current time")
    return parsed


def payload_bytes(body: SecretCreate, max_bytes: int) -> tuple[bytes, str] | None:
    """(plaintext, stored content type) of a new secret's payload, None without one; checked
    as Barbican checks it."""
    if body.payload is None:
        if body.payload_content_type is not None:
            raise SchemaViolation("payload", "payload must be provided when "
                                             "payload_content_type is specified")
        return None
    content_type = body.payload_content_type
    if content_type is None:
        raise SchemaViolation("payload_content_type", "If 'payload' is supplied, "
                              "'payload_content_type' must also be supplied.")
    if content_type not in SUPPORTED_CONTENT_TYPES:
        raise SchemaViolation("payload_content_type", "payload_content_type is not one of "
                              f"{list(SUPPORTED_CONTENT_TYPES)}")
    stored_type = normalize_content_type(content_type)
    encodings = ENCODINGS[stored_type]
    encoding = body.payload_content_encoding
    if (encoding not in encodings) if encodings else encoding is not None:
        raise SchemaViolation("payload_content_encoding", "payload_content_encoding is not "
                              f"one of {encodings}")
    if len(body.payload.encode()) > max_bytes:
        raise PayloadTooLarge()
    text = body.payload.strip()
    if not text:
        raise SchemaViolation("payload", "If 'payload' specified, must be non empty")
    if encoding == "base64":
        try:
            decoded = base64.b64decode(text)  # newlines (base64(1)'s) are skipped
        except (binascii.Error, ValueError):
            decoded = b""
        if not decoded:  # also nothing but characters outside the alphabet
            raise SchemaViolation("payload", "Invalid payload for payload_content_encoding")
        return decoded, stored_type
    return text.encode(), stored_type


def container_refs(body: ContainerCreate, secrets_url: str) -> list[tuple[str | None, str]]:
    """(name, secret id) of each reference, checked as Barbican checks them: unique names and
    secrets, references to this store, the names a certificate or rsa container allows."""
    refs = body.secret_refs
    names = {ref.name for ref in refs}
    if len(names) != len(refs):
        raise SchemaViolation("secret_refs", "Duplicate reference names are not allowed")
    ids = [ref.secret_ref.rstrip("/").rsplit("/", 1)[-1] for ref in refs]
    if len(set(ids)) != len(refs):
        raise SchemaViolation("secret_refs", "Duplicate secret ids are not allowed")
    for ref in refs:
        if not ref.secret_ref.startswith(secrets_url):
            raise SchemaViolation("secret_ref", "Secret_ref does not match the configured "
                                                "hostname, please try again")
    if refs and body.type == "certificate":
        if names - CERTIFICATE_NAMES:
            raise SchemaViolation("secret_refs", "only 'private_key', 'certificate' , "
                                  "'private_key_passphrase',  or 'intermediates' reference "
                                  "names are allowed for Certificate type")
        if "certificate" not in names:
            raise SchemaViolation("secret_refs", "The minimum required reference name is "
                                                 "'certificate' for Certificate type")
    if refs and body.type == "rsa":
        if names - RSA_NAMES:
            raise SchemaViolation("secret_refs", "only 'private_key', 'public_key' and "
                                  "'private_key_passphrase' reference names are allowed for "
                                  "RSA type")
        if not {"public_key", "private_key"} <= names:
            raise SchemaViolation("secret_refs", "The minimum required reference names are "
                                                 "'public_key' and'private_key' for RSA type")
    return [(ref.name, ref_id) for ref, ref_id in zip(refs, ids, strict=True)]
