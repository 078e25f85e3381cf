"""Backups: one archive with the database and a manifest, written while the system runs, and
restore from it. The keys are never in the archive: its personal data is ciphertext and keyed
hashes only (staff backup codes too), and restoring it takes the data key kept (escrowed)
apart. One exception: django-otp keeps each staff member's TOTP secret in plain text, so a
stolen backup holds the second factor (not the password hashes' plaintext) — keep backups as
closely as the keys.

SQLite is copied with its online-backup API (a consistent snapshot while others write);
PostgreSQL with ``pg_dump`` (one MVCC snapshot). The manifest records each member's SHA-256 and
the fingerprints of the data and look-up keys, so a damaged archive or the wrong key is refused
before anything is overwritten.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.core import crypto
from anshin.core.audit import Actor, audit_record

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
MAX_MANIFEST_BYTES = 64 * 1024


class BackupError(Exception):
    """The archive cannot be written or restored; the message says why in plain words."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    manifest: dict[str, Any]


def backup_create(
    *, actor: Actor, output: Path, progress: Callable[[str], None] | None = None
) -> BackupResult:
    """Write the archive to ``output`` (atomically: a partial file never has the final name)."""
    say = progress or (lambda _text: None)
    with transaction.atomic():
        audit_record(actor=actor, action="backup.create", details={"engine": connection.vendor})
    with tempfile.TemporaryDirectory(dir=output.parent) as work:
        dump = Path(work) / _member_name()
        say("database")
        _dump_database(dump)
        digest = _sha256(dump)
        manifest = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "engine": connection.vendor,
            "data_key_id": crypto.key_id(settings.DATA_KEY).hex(),
            "lookup_key_id": crypto.lookup_key_id(),
            "members": {dump.name: {"sha256": digest, "size": dump.stat().st_size}},
        }
        partial = Path(work) / "archive.tar.gz"
        say("archive")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(dump, arcname=dump.name)
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
        os.chmod(partial, 0o600)
        os.replace(partial, output)
    return BackupResult(output, output.stat().st_size, manifest)


def _member_name() -> str:
    return SQLITE_MEMBER if connection.vendor == "sqlite" else POSTGRES_MEMBER


def _dump_database(target: Path) -> None:
    if connection.vendor == "sqlite":
        source = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=30)
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy, pages=4096)
        finally:
            copy.close()
            source.close()
        return
    _pg("pg_dump", "--format=custom", "--no-owner", "--file", str(target))


def _pg(program: str, *args: str) -> None:
    conf = connections["default"].settings_dict
    command = [program, "-h", conf["HOST"] or "127.0.0.1", "-p", str(conf["PORT"] or 5432)]
    command += ["-U", conf["USER"] or "postgres", *args]
    command += ["--dbname", conf["NAME"]]
    env = {**os.environ, "PGPASSWORD": conf["PASSWORD"] or ""}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # pg_* messages name tables and options, never row contents.
        raise BackupError(
            _("%(program)s failed: %(error)s")
            % {"program": program, "error": done.stderr.strip()[-500:]}
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(timezone.now().timestamp())
    archive.addfile(info, io.BytesIO(data))


# --- restore ------------------------------------------------------------------------------


def backup_inspect(path: Path, into: Path) -> tuple[dict[str, Any], Path]:
    """Check an archive and extract its database into ``into``; refuse anything unexpected."""
    try:
        archive = tarfile.open(path, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(_("The file is not an anshin backup (not a readable .tar.gz).")) from exc
    with archive:
        members = {m.name: m for m in archive.getmembers()}
        if MANIFEST not in members or not members[MANIFEST].isfile():
            raise BackupError(_("The file is not an anshin backup (no manifest)."))
        if members[MANIFEST].size > MAX_MANIFEST_BYTES:
            raise BackupError(_("The backup's manifest is too large to be genuine."))
        manifest = _read_manifest(archive, members[MANIFEST])
        expected = {MANIFEST, *manifest["members"]}
        if set(members) != expected or not all(m.isfile() for m in members.values()):
            raise BackupError(_("The backup holds unexpected entries; it was not made by anshin."))
        (name,) = manifest["members"]
        if name not in (SQLITE_MEMBER, POSTGRES_MEMBER):
            raise BackupError(_("The backup holds unexpected entries; it was not made by anshin."))
        target = into / name
        source = archive.extractfile(members[name])
        assert source is not None
        with target.open("wb") as handle:
            for block in iter(lambda: source.read(1 << 20), b""):
                handle.write(block)
    if _sha256(target) != manifest["members"][name].get("sha256"):
        raise BackupError(_("The backup is damaged: its database does not match its checksum."))
    return manifest, target


def _read_manifest(archive: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, Any]:
    handle = archive.extractfile(member)
    try:
        manifest = json.loads(handle.read() if handle else b"")
    except ValueError as exc:
        raise BackupError(_("The backup's manifest is not readable.")) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("The backup was made by another version of anshin's backup format."))
    members = manifest.get("members")
    if not isinstance(members, dict) or len(members) != 1:
        raise BackupError(_("The backup's manifest is not readable."))
    return manifest


def backup_restore(*, actor: Actor, path: Path, force: bool = False) -> dict[str, Any]:
    """Replace the database with the archive's. Refuses a damaged archive, one made for
    another database engine, one whose data key is not configured here, and (without
    ``force``) a database that already holds data."""
    with tempfile.TemporaryDirectory() as work:
        manifest, dump = backup_inspect(path, Path(work))
        _check_compatible(manifest)
        if not force and _holds_data():
            raise BackupError(
                _(
                    "The database already holds data; restoring would replace it. Stop anshin "
                    "and run again with --force to replace it."
                )
            )
        connections.close_all()
        _load_database(dump)
    # A backup from an older release is brought up to this one's schema.
    call_command("migrate", interactive=False, verbosity=0)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="backup.restore",
            details={"backup_created_at": manifest["created_at"]},
        )
    return manifest


def _check_compatible(manifest: dict[str, Any]) -> None:
    if manifest.get("engine") != connection.vendor:
        raise BackupError(
            _("The backup is of a %(engine)s database; this anshin uses %(here)s.")
            % {"engine": manifest.get("engine"), "here": connection.vendor}
        )
    known = {crypto.key_id(k).hex() for k in [settings.DATA_KEY, *settings.DATA_KEYS_RETIRED]}
    if manifest.get("data_key_id") not in known:
        raise BackupError(
            _(
                "The backup was made with another data key (fingerprint %(key)s). Set "
                "ANSHIN_DATA_KEY to the escrowed key first."
            )
            % {"key": manifest.get("data_key_id")}
        )
    if manifest.get("lookup_key_id") != crypto.lookup_key_id():
        raise BackupError(
            _(
                "The backup was made with another look-up key; set ANSHIN_LOOKUP_KEY to the "
                "key it was made with (the original data key)."
            )
        )


def _holds_data() -> bool:
    from django.db import DatabaseError

    from anshin.core.models import AuditEvent

    try:
        return AuditEvent.objects.exists()
    except DatabaseError:  # not even migrated
        return False


def _load_database(dump: Path) -> None:
    if connection.vendor == "sqlite":
        source = sqlite3.connect(dump)
        live = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=30)
        try:
            with live:
                source.backup(live)
        finally:
            live.close()
            source.close()
        return
    _pg("pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", str(dump))
