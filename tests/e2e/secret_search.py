"""Searching text for secrets, whole or in pieces (a truncated leak counts): used by the tests
that grep the logs of a run for the secrets it used (``test_no_secrets_in_logs.py``,
``test_request_id_agent_process.py``). Not a test module."""

from __future__ import annotations

from tests.tls_material import Issued

PIECE = 24
DER_HEADER = 48
"""Leading base64 characters of a DER key or bundle that are the same for every key of its
kind (algorithm identifiers, lengths): not searched as pieces."""


def pieces(value: str, skip: int = 0) -> list[str]:
    """``value`` and its successive :data:`PIECE`-character pieces after ``skip``."""
    return [value, *(value[i:i + PIECE] for i in range(skip, len(value) - PIECE + 1, PIECE))]


def key_pieces(issued: Issued) -> list[str]:
    """The lines of the private key's PEM body, and pieces of the body joined (its base64)."""
    lines = [line for line in issued.key_pem.splitlines() if "-----" not in line]
    return [*lines, *pieces("".join(lines), DER_HEADER)]


def found(text: str, needles: dict[str, list[str]]) -> list[str]:
    """The names of the secrets any of whose pieces occur in ``text``."""
    return sorted(name for name, parts in needles.items() if any(p in text for p in parts))
