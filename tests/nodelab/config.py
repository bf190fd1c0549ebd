"""The lbaas config files the node lab writes: one per server and one per network node, with the
options of README.md's "Several hosts" block (``transport_url``, ``host``, ``[database]
connection``, ``[api] workers``, ``[agent] bridge_mappings`` and ``availability_zone``) plus what
the lab needs (state paths, short intervals, plain-text logs).

Used by :mod:`tests.nodelab.servers` and :mod:`tests.nodelab.node`;
``tests/e2e/test_nodelab.py`` checks these files against the README.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

Groups = Mapping[str, Mapping[str, Any]]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def write_config(path: Path, groups: Groups) -> Path:
    """Write ``groups`` (``{"DEFAULT": {...}, "api": {...}}``) as an oslo.config file, mode
    0600 (it holds the broker's password)."""
    lines: list[str] = []
    for group, options in groups.items():
        if not options:
            continue
        lines += [f"[{group}]", *(f"{key} = {_value(v)}" for key, v in options.items()), ""]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines))
    return path


def merge(base: Groups, extra: Groups | None) -> dict[str, dict[str, Any]]:
    """``base`` with the options of ``extra`` added or replaced, group by group."""
    merged = {group: dict(options) for group, options in base.items()}
    for group, options in (extra or {}).items():
        merged.setdefault(group, {}).update(options)
    return merged


def server_groups(*, host: str, state_path: Path, secret_key: Path, transport_url: str,
                  database: str, workers: int, housekeeping: Mapping[str, Any],
                  extra: Groups | None = None) -> dict[str, dict[str, Any]]:
    """The config of one ``lbaas server`` (``secret_key``: the key file all servers share)."""
    return merge({
        "key_manager": {"encryption_key_file": secret_key},
        "DEFAULT": {"transport_url": transport_url, "host": host, "state_path": state_path,
                    "log_json": False},
        "database": {"connection": database},
        "api": {"workers": workers, "default_provider": "haproxy"},
        "housekeeping": dict(housekeeping),
    }, extra)


def agent_groups(*, host: str, state_path: Path, transport_url: str, bridge_mappings: str,
                 availability_zone: str, agent: Mapping[str, Any],
                 extra: Groups | None = None) -> dict[str, dict[str, Any]]:
    """The config of one network node's ``lbaas agent``."""
    return merge({
        "DEFAULT": {"transport_url": transport_url, "host": host, "state_path": state_path,
                    "log_json": False},
        "agent": {"bridge_mappings": bridge_mappings, "availability_zone": availability_zone,
                  **agent},
    }, extra)
