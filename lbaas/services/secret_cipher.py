"""Encryption at rest of the secret store's payloads, and the key file it reads.

:class:`SecretCipher` encrypts and decrypts payloads with Fernet (AES-128-CBC and HMAC-SHA256,
from ``cryptography``) under one key. The key lives in the file ``[key_manager]
encryption_key_file`` names: ``build_services`` loads it with :func:`load_cipher` (a server
without it refuses to start), ``lbaas up`` creates it on first start and ``lbaas secret-key
create`` for a standalone server (:func:`create_key_file`: mode 0600, never overwriting).
The key is never logged; rotation is not supported (one key for every stored payload).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from lbaas.core.private_files import PrivateFileError, create_private_file, read_private_file

KEY_OPTION = "[key_manager] encryption_key_file"
CREATE_COMMAND = "lbaas secret-key create"


class KeyFileError(PrivateFileError):
    """The key file is missing, unreadable, malformed or readable by others: the server does
    not start (the message says which file, which option and what to do)."""


class SecretDecryptionError(Exception):
    """A stored payload does not decrypt under the configured key (another key, or damaged)."""


class SecretCipher:
    """Encrypts and decrypts payloads under one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def __repr__(self) -> str:
        return "SecretCipher(<key hidden>)"

    @staticmethod
    def generate_key() -> bytes:
        return Fernet.generate_key()

    def encrypt(self, payload: bytes) -> bytes:
        return self._fernet.encrypt(payload)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise SecretDecryptionError(
                "a stored secret does not decrypt with the configured key "
                f"({KEY_OPTION}): was the key file replaced?") from exc


def load_cipher(path: str | Path) -> SecretCipher:
    """The cipher of the key in ``path``; :class:`KeyFileError` saying what to do otherwise."""
    key = read_private_file(path, "the secret store's key file", KEY_OPTION, CREATE_COMMAND,
                            error=KeyFileError)
    try:
        return SecretCipher(key)
    except ValueError:
        raise KeyFileError(f"the secret store's key file {path} ({KEY_OPTION}) does not hold "
                           f"a Fernet key (32 bytes, URL-safe base64); '{CREATE_COMMAND}' "
                           "writes one") from None


def create_key_file(path: str | Path) -> Path:
    """Write a new random key to ``path`` (mode 0600 from the moment it exists, its directory
    created 0700 if missing). ``FileExistsError`` if there is one: replacing a key would make
    every stored secret unreadable."""
    return create_private_file(path, SecretCipher.generate_key() + b"\n")


def ensure_key_file(path: str | Path) -> bool:
    """Create the key file unless it exists (``lbaas up``); whether it was created."""
    try:
        create_key_file(path)
    except FileExistsError:
        return False
    return True
