"""Turning what the user typed (an id or a unique name) into API objects, and finding the load
balancer an object belongs to (the one ``--wait`` watches)."""

from __future__ import annotations

from typing import Any

from lbaas.cli.client import ApiClient, ApiError, CliError
from lbaas.cli.kinds import HEALTHMONITOR, L7POLICY, LISTENER, LOADBALANCER, POOL, Kind

Obj = dict[str, Any]


def find(api: ApiClient, kind: Kind, ident: str, parent: str | None = None) -> Obj:
    """The ``kind`` object whose id, or else unique name, is ``ident``.

    Like the openstack client: ``GET <collection>/<ident>`` first, then ``?name=<ident>``. No match
    or several matches is a :class:`CliError` that says so.
    """
    if not ident.strip():
        raise CliError(f"An empty string does not name a {kind.label}.")
    if ident not in (".", ".."):  # would be read as a relative path, not an id
        try:
            return dict(api.get(kind.item_path(ident, parent))[kind.key])
        except ApiError as exc:
            # 404: no such id. 400: the server rejected the string as an id.
            if exc.status not in (400, 404):
                raise
    if not kind.named:
        raise CliError(f"No {kind.label} with ID '{ident}' found.")
    matches = api.list(kind.path(parent), kind.plural, {"name": ident})
    if not matches:
        raise CliError(f"No {kind.label} with name or ID '{ident}' found.")
    if len(matches) > 1:
        raise CliError(f"More than one {kind.label} is named '{ident}' ({len(matches)} found); "
                       f"use its ID.")
    return matches[0]


def find_id(api: ApiClient, kind: Kind, ident: str | None, parent: str | None = None
            ) -> str | None:
    """The id of the ``kind`` object named by ``ident`` (``None`` stays ``None``)."""
    return None if ident is None else str(find(api, kind, ident, parent)["id"])


def _first_id(refs: list[dict[str, Any]] | None) -> str | None:
    return str(refs[0]["id"]) if refs else None


def loadbalancer_of_listener(listener: Obj) -> str | None:
    return _first_id(listener.get("loadbalancers"))


def loadbalancer_of_pool(pool: Obj) -> str | None:
    return _first_id(pool.get("loadbalancers"))


def loadbalancer_of_healthmonitor(api: ApiClient, monitor: Obj) -> str | None:
    pool_id = _first_id(monitor.get("pools"))
    return None if pool_id is None else loadbalancer_of_pool(find(api, POOL, pool_id))


def loadbalancer_of_l7policy(api: ApiClient, policy: Obj) -> str | None:
    listener_id = policy.get("listener_id")
    return None if not listener_id else loadbalancer_of_listener(find(api, LISTENER, listener_id))


def owning_loadbalancer(api: ApiClient, kind: Kind, obj: Obj) -> str | None:
    """The id of the load balancer ``obj`` (a top-level ``kind`` object) belongs to."""
    if kind is LOADBALANCER:
        return str(obj["id"])
    if kind is LISTENER:
        return loadbalancer_of_listener(obj)
    if kind is POOL:
        return loadbalancer_of_pool(obj)
    if kind is L7POLICY:
        return loadbalancer_of_l7policy(api, obj)
    if kind is HEALTHMONITOR:
        return loadbalancer_of_healthmonitor(api, obj)
    raise ValueError(f"{kind.label} objects are nested: use their parent's load balancer")
