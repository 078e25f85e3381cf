"""Where a residents' CSV waits between the console's preview and its apply.

The previewed bytes stay on the server (a 0600 file under ``HOME/uploads/residents`` named by
their SHA-256), never in a cookie or a form field; apply names the hash, so what is applied is
exactly the file whose preview the clerk saw. Taking the file is a rename, so of two clicks on
"apply" only one gets it. A file never applied is removed a day later by the next upload.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from pathlib import Path
from typing import Final

from django.conf import settings

MAX_AGE_SECONDS: Final = 24 * 60 * 60
_SHA256: Final = re.compile(r"[0-9a-f]{64}")


def _folder() -> Path:
    return Path(settings.HOME) / "uploads" / "residents"


def _path(sha: str) -> Path | None:
    return _folder() / f"{sha}.csv" if _SHA256.fullmatch(sha) else None


def upload_store(data: bytes) -> str:
    """Keep the bytes; return their SHA-256 (hex), the name the apply step uses."""
    sha = hashlib.sha256(data).hexdigest()
    folder = _folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _remove_stale(folder)
    partial = folder / f".{sha}.{os.getpid()}.{secrets.token_hex(4)}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(partial, folder / f"{sha}.csv")
    return sha


def upload_take(sha: str) -> bytes | None:
    """The stored bytes for this hash, removed from the store; None when there are none
    (applied already, too old, or not a hash at all)."""
    path = _path(sha)
    if path is None:
        return None
    claimed = path.with_name(f".{sha}.{secrets.token_hex(8)}.applying")
    try:
        path.rename(claimed)
    except FileNotFoundError:
        return None
    try:
        data = claimed.read_bytes()
    finally:
        claimed.unlink(missing_ok=True)
    return data if hashlib.sha256(data).hexdigest() == sha else None


def _remove_stale(folder: Path) -> None:
    limit = time.time() - MAX_AGE_SECONDS
    for stored in folder.glob("*"):
        try:
            if stored.stat().st_mtime < limit:
                stored.unlink()
        except FileNotFoundError:
            continue
