"""Where an uploaded CSV waits between a console's preview and its apply.

The previewed bytes stay on the server (a 0600 file under ``HOME/uploads`` named by their
SHA-256), never in a cookie or a form field; apply names the hash, so what is applied is
exactly the file whose preview the clerk saw. Taking the file is a rename, so of two clicks on
"apply" only one gets it. A file never applied is removed a day later by the next upload to
the same store. Each import has its own store (a folder), so one never takes another's file.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from django.conf import settings

MAX_AGE_SECONDS: Final = 24 * 60 * 60
_SHA256: Final = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class UploadStore:
    """One import's uploads, in ``HOME/uploads/<subfolder>`` (the folder itself for ``""``,
    where the staff directory's have always been)."""

    subfolder: str

    def folder(self) -> Path:
        return Path(settings.HOME) / "uploads" / self.subfolder

    def store(self, data: bytes) -> str:
        """Keep the bytes; return their SHA-256 (hex), the name the apply step uses."""
        sha = hashlib.sha256(data).hexdigest()
        folder = self.folder()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _remove_stale(folder)
        partial = folder / f".{sha}.{os.getpid()}.{secrets.token_hex(4)}.part"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, folder / f"{sha}.csv")
        return sha

    def take(self, sha: str) -> bytes | None:
        """The stored bytes for this hash, removed from the store; None when there are none
        (applied already, too old, changed since, or not a hash at all)."""
        if not _SHA256.fullmatch(sha):
            return None
        path = self.folder() / f"{sha}.csv"
        claimed = path.with_name(f".{sha}.{secrets.token_hex(8)}.applying")
        try:
            path.rename(claimed)
        except FileNotFoundError:
            return None
        try:
            data = claimed.read_bytes()
        finally:
            claimed.unlink(missing_ok=True)  # applied or refused: a new attempt starts anew
        return data if hashlib.sha256(data).hexdigest() == sha else None


def _remove_stale(folder: Path) -> None:
    """Previewed files nobody applied, and parts and claims a crash left behind: gone after a
    day. Folders (other stores inside this one) are left alone."""
    limit = time.time() - MAX_AGE_SECONDS
    for stored in folder.glob("*"):
        try:
            if stored.is_file() and stored.stat().st_mtime < limit:
                stored.unlink()
        except FileNotFoundError:
            continue
