"""Files that hold a secret (a key, a token): read them refusing any that others may access,
and create them readable by the owner only.

Used by the secret store's key file (``lbaas/services/secret_cipher.py``) and the metrics scrape
token (``lbaas/core/scrape_token.py``): both are read once at start, and a process refuses to
start when the file is missing, unreadable or open to other users. The messages name the file,
the option and what to do; they never contain the file's content.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class PrivateFileError(Exception):
    """The file is missing, unreadable, malformed or accessible to others (the message says
    which file, which option and what to do)."""


def read_private_file(path: str | Path, what: str, option: str, create_command: str,
                      error: type[PrivateFileError] = PrivateFileError) -> bytes:
    """The content of ``path`` (stripped), or ``error`` saying what to do: ``what`` names the
    file for a person ("the secret store's key file"), ``option`` the option naming it,
    ``create_command`` the command that creates one."""
    path = Path(path)
    try:
        info = path.stat()
        content = path.read_bytes().strip()
    except FileNotFoundError:
        raise error(
            f"{what} {path} ({option}) does not exist; create it with '{create_command}' (or "
            "point the option at the copy the other hosts use)") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path} ({option}): {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise error(f"{what} {path} ({option}) is accessible to other users (mode "
                    f"{stat.S_IMODE(info.st_mode):o}); run 'chmod 600 {path}'")
    return content


def create_private_file(path: str | Path, content: bytes) -> Path:
    """Write ``content`` to a new file ``path``, mode 0600 from the moment it exists (its
    directory created 0700 if missing). ``FileExistsError`` if there is one: it is kept."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)  # whatever the umask
        f.write(content)
    return path
