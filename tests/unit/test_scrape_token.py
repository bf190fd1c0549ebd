"""The metrics scrape token file (lbaas/core/scrape_token.py): created 0600 and never
overwritten, refused when missing, open to others or without a token; the bearer header parsed
and compared."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lbaas.core.scrape_token import (
    ScrapeTokenError,
    bearer,
    configured_token,
    create_token_file,
    ensure_token_file,
    load_scrape_token,
)


def test_a_new_token_file_is_0600_and_never_overwritten(tmp_path: Path) -> None:
    path = create_token_file(tmp_path / "dir" / "metrics.token")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    before = path.read_text()
    with pytest.raises(FileExistsError):
        create_token_file(path)
    assert ensure_token_file(path) is False and path.read_text() == before
    assert ensure_token_file(tmp_path / "other.token") is True
    assert (tmp_path / "other.token").read_text() != before


def test_the_loaded_token_matches_only_itself(tmp_path: Path) -> None:
    path = create_token_file(tmp_path / "metrics.token")
    secret = path.read_text().strip()
    token = load_scrape_token(path)
    assert token.matches(secret)
    assert not token.matches(secret[:-1]) and not token.matches(secret + "a")
    assert not token.matches("")
    assert secret not in repr(token)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o700 | 0o004])
def test_a_token_file_open_to_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = create_token_file(tmp_path / "metrics.token")
    path.chmod(mode)
    with pytest.raises(ScrapeTokenError, match=f"chmod 600 {path}"):
        load_scrape_token(path)


def test_a_missing_file_names_the_option_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(ScrapeTokenError) as caught:
        load_scrape_token(tmp_path / "absent")
    assert "[metrics] token_file" in str(caught.value)
    assert "lbaas metrics-token create" in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"short\n", b"two words of a long token\n",
                                     "caf\u00e9-token-long-enough".encode()])
def test_a_file_without_a_token_is_refused_without_showing_it(tmp_path: Path,
                                                             content: bytes) -> None:
    path = tmp_path / "metrics.token"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(ScrapeTokenError, match="does not hold a token") as caught:
        load_scrape_token(path)
    if content.strip():
        assert content.decode().strip() not in str(caught.value)


def test_an_empty_option_means_no_token() -> None:
    assert configured_token("") is None and configured_token(None) is None


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("BEARER abc", "abc"),
    ("Basic abc", None), ("abc", None), ("", None), (None, None), ("Bearer", ""),
])
def test_bearer(header: str | None, token: str | None) -> None:
    assert bearer(header) == token
