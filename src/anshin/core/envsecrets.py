"""The data folder and the secrets a no-configuration deployment generates for itself."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def home_dir() -> Path:
    """ANSHIN_HOME (default ./var), created on first use, readable by its owner only."""
    home = Path(os.environ.get("ANSHIN_HOME", "var")).resolve()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home


def persistent_secret(path: Path) -> str:
    """Return the secret stored at `path`, creating it once with 256 random bits.

    O_EXCL makes creation race-free when web, worker and scheduler start at the same moment:
    exactly one process writes the file and the others read what it wrote.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_complete(path)
    value = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _read_when_complete(path: Path) -> str:
    import time

    for _ in range(50):
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError("The secret file is empty; delete it to generate a new one.")
