"""What a provider applies: the attributes of a request, and per provider the values it builds.

A create or update request is walked into :class:`Requested` items, one per attribute the caller
set, children included (a load balancer's single-call create yields its listeners', pools',
members' … attributes too). A provider declares :class:`Limit` s on the (kind, attribute) pairs
it does not build in full; :meth:`lbaas.providers.base.ProviderDriver.supports` checks one item
against them, and :func:`lbaas.services.changes.check_supported` turns refusals into one 400
naming each field and the provider. So an accepted value is applied, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from lbaas.core import kinds
from lbaas.core.kinds import Kind
from lbaas.schemas.listener import PoolNameRef

CHILDREN: Mapping[str, Kind] = {
    "listeners": kinds.LISTENER, "pools": kinds.POOL, "default_pool": kinds.POOL,
    "redirect_pool": kinds.POOL, "members": kinds.MEMBER, "healthmonitor": kinds.HEALTH_MONITOR,
    "l7policies": kinds.L7POLICY, "rules": kinds.L7RULE,
}
"""Request attributes that hold objects of another kind (walked as that kind)."""

REFERENCES = frozenset({"project_id", "tenant_id", "loadbalancer_id", "listener_id", "pool_id"})
"""Attributes that place an object rather than describe it (nothing for a provider to build)."""


@dataclass(frozen=True)
class Requested:
    """One attribute a request sets: ``attribute`` (dotted inside a nested object, such as
    ``session_persistence.type``) of a ``kind`` object, to ``value``."""

    kind: Kind
    attribute: str
    value: Any

    @property
    def field(self) -> str:
        """How the 400 names it: ``pool.tls_enabled``."""
        return f"{self.kind.key}.{self.attribute}"


def requested(kind: Kind, request: BaseModel) -> Iterator[Requested]:
    """Every attribute ``request`` (a ``kind`` create or update schema) sets explicitly."""
    for name in sorted(request.model_fields_set):
        value = getattr(request, name)
        child = CHILDREN.get(name)
        if child is not None:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, BaseModel) and not isinstance(item, PoolNameRef):
                    yield from requested(child, item)
        elif name in REFERENCES:
            continue
        elif isinstance(value, BaseModel):
            for inner in requested(kind, value):
                yield Requested(kind, f"{name}.{inner.attribute}", inner.value)
        else:
            yield Requested(kind, name, value)


@dataclass(frozen=True)
class Limit:
    """The values of one attribute a provider applies; any other value is refused with
    ``reason``."""

    applies: Callable[[Any], bool]
    reason: str


def one_of(*values: object) -> Limit:
    """Only these values are built."""
    allowed = frozenset(values)
    return Limit(lambda value: value in allowed,
                 f"supported: {', '.join(sorted(map(str, allowed)))}")


def at_least(minimum: int, unit: str = "") -> Limit:
    """Numbers below ``minimum`` cannot be built."""
    return Limit(lambda value: value is None or value >= minimum,
                 f"must be at least {minimum}{unit}")


NOT_APPLIED = Limit(lambda value: value in (None, False, "", [], {}), "not applied")
"""The provider builds nothing for this attribute: only its empty or false value is accepted."""


@dataclass(frozen=True)
class ZoneKey:
    """One key of an availability zone profile's ``availability_zone_data`` that a provider
    understands: what it means (the capability's description) and the values it takes."""

    description: str
    accepts: Callable[[Any], bool]
    expected: str
    """How the refusal describes an accepted value: ``a string``."""


def text_key(description: str, nullable: bool = False) -> ZoneKey:
    """A key whose value is a non-empty string (or null, meaning "not set", if ``nullable``)."""
    return ZoneKey(description, lambda value: (isinstance(value, str) and bool(value))
                   or (nullable and value is None),
                   "a non-empty string or null" if nullable else "a non-empty string")


def list_key(description: str) -> ZoneKey:
    """A key whose value is a list of strings (network ids)."""
    return ZoneKey(description, lambda value: isinstance(value, list) and all(
        isinstance(item, str) and item for item in value), "a list of strings")


def zone_data_refusal(keys: Mapping[str, ZoneKey], data: Any) -> str | None:
    """None when ``data`` (parsed ``availability_zone_data``) uses only ``keys`` with values
    they take, else why not."""
    if not isinstance(data, dict):
        return "availability_zone_data must be a JSON object"
    for name, value in data.items():
        key = keys.get(name)
        if key is None:
            supported = ", ".join(sorted(keys)) or "none"
            return f"'{name}' is not an availability zone capability (supported: {supported})"
        if not key.accepts(value):
            return f"{name} must be {key.expected}"
    return None
