"""The secret store's encryption at rest (``lbaas/services/secret_cipher.py``): round trips,
the key file's creation (0600, never overwritten) and every reason a server refuses it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lbaas.services.secret_cipher import (
    KeyFileError,
    SecretCipher,
    SecretDecryptionError,
    create_key_file,
    ensure_key_file,
    load_cipher,
)

PAYLOAD = b"-----BEGIN PRIVATE KEY-----\x00\xff binary too"


def test_encrypt_then_decrypt_returns_the_payload_and_hides_it() -> None:
    cipher = SecretCipher(SecretCipher.generate_key())
    token = cipher.encrypt(PAYLOAD)
    assert PAYLOAD not in token
    assert cipher.encrypt(PAYLOAD) != token  # a fresh IV each time
    assert cipher.decrypt(token) == PAYLOAD
    assert "key" in repr(cipher) and SecretCipher.generate_key().decode() not in repr(cipher)


def test_decrypt_with_another_key_is_refused() -> None:
    token = SecretCipher(SecretCipher.generate_key()).encrypt(PAYLOAD)
    with pytest.raises(SecretDecryptionError, match=r"\[key_manager\] encryption_key_file"):
        SecretCipher(SecretCipher.generate_key()).decrypt(token)


def test_decrypt_of_a_tampered_token_is_refused() -> None:
    cipher = SecretCipher(SecretCipher.generate_key())
    token = bytearray(cipher.encrypt(PAYLOAD))
    token[40] = ord("A") if token[40] != ord("A") else ord("B")
    with pytest.raises(SecretDecryptionError):
        cipher.decrypt(bytes(token))


def test_create_key_file_writes_0600_and_loads(tmp_path: Path) -> None:
    path = create_key_file(tmp_path / "sub" / "secret.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    cipher = load_cipher(path)
    assert load_cipher(path).decrypt(cipher.encrypt(PAYLOAD)) == PAYLOAD


def test_create_key_file_never_overwrites(tmp_path: Path) -> None:
    path = create_key_file(tmp_path / "secret.key")
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        create_key_file(path)
    assert ensure_key_file(path) is False
    assert path.read_bytes() == before
    assert ensure_key_file(tmp_path / "other.key") is True


def test_missing_key_file_names_the_option_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError) as caught:
        load_cipher(tmp_path / "absent.key")
    message = str(caught.value)
    assert str(tmp_path / "absent.key") in message
    assert "[key_manager] encryption_key_file" in message
    assert "lbaas secret-key create" in message


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = create_key_file(tmp_path / "secret.key")
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_cipher(path)


def test_key_file_without_a_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text("not-a-fernet-key-but-secret\n")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="does not hold a Fernet key") as caught:
        load_cipher(path)
    assert "not-a-fernet-key-but-secret" not in str(caught.value)
