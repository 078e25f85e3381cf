"""`anshin backup` and `anshin restore` as an operator runs them: real processes, a real SQLite
file or PostgreSQL database, the keys kept apart from the archive."""

from __future__ import annotations

import base64
import io
import json
import os
import sqlite3
import subprocess
import tarfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from anshin.core.tests.test_cli import run as run_cli

KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
OTHER_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()
RESIDENTS = "email,categories\nhanako@example.jp,bousai\ntaro@example.jp,bouhan\n"


def run(home: Path, *args: str, key: str = KEY, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(home, *args, env={"ANSHIN_LANGUAGE": "en", "ANSHIN_DATA_KEY": key, **env})


def count(home: Path, table: str) -> int:
    with sqlite3.connect(home / "anshin.sqlite3") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A home with two residents imported, backed up to source/backup.tar.gz."""
    home = tmp_path / "source"
    home.mkdir()
    (tmp_path / "residents.csv").write_text(RESIDENTS)
    assert run(home, "migrate", "--noinput").returncode == 0
    imported = run(home, "residents", "import", str(tmp_path / "residents.csv"), "--basis", "old")
    assert imported.returncode == 0, imported.stderr
    made = run(home, "backup", "--output", str(home / "backup.tar.gz"))
    assert made.returncode == 0, made.stderr
    return home


def test_a_backup_restores_into_a_fresh_home(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    restored = run(target, "restore", str(source / "backup.tar.gz"))
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith("Restored the backup made at ")
    assert count(target, "residents_subscriber") == 2
    listed = run(target, "residents", "import", str(tmp_path / "residents.csv"), "--basis", "x")
    assert "2  already subscribed" in listed.stdout  # decrypts and matches with the escrowed key
    verified = run(target, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    # import, backup.create (inside the backup), backup.restore, the second import
    assert verified.stdout.startswith("The audit log is intact: 4 entries.")


def test_the_archive_holds_the_database_and_a_manifest_but_no_key(source: Path) -> None:
    with tarfile.open(source / "backup.tar.gz") as archive:
        assert sorted(archive.getnames()) == ["database.sqlite3", "manifest.json"]
        blob = b"".join(archive.extractfile(m).read() for m in archive.getmembers())  # type: ignore[union-attr]
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert KEY.encode() not in blob and (source / "data.key").exists() is False
    assert (manifest["format"], manifest["engine"]) == (1, "sqlite")
    assert b"hanako@example.jp" not in blob
    assert oct((source / "backup.tar.gz").stat().st_mode & 0o777) == "0o600"


def test_the_wrong_data_key_is_refused_and_nothing_is_written(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    refused = run(target, "restore", str(source / "backup.tar.gz"), key=OTHER_KEY)
    assert refused.returncode == 2
    assert "made with another data key" in refused.stderr
    assert "ANSHIN_DATA_KEY" in refused.stderr
    assert not (target / "anshin.sqlite3").exists() or count(target, "core_auditevent") == 0


def test_a_database_with_data_is_not_replaced_without_force(source: Path) -> None:
    refused = run(source, "restore", str(source / "backup.tar.gz"))
    assert refused.returncode == 2
    assert "already holds data" in refused.stderr
    assert count(source, "residents_subscriber") == 2
    assert run(source, "restore", "--force", str(source / "backup.tar.gz")).returncode == 0


def _rewrite(archive_path: Path, out: Path, change: dict[str, bytes | None]) -> None:
    """Copy an archive, replacing (or, with None, dropping) members and adding new ones."""
    with tarfile.open(archive_path) as old, tarfile.open(out, "w:gz") as new:
        for member in old.getmembers():
            original: bytes | None = old.extractfile(member).read()  # type: ignore[union-attr]
            data = change.pop(member.name, original)
            if data is not None:
                info = tarfile.TarInfo(member.name)
                info.size = len(data)
                new.addfile(info, io.BytesIO(data))
        for name, data in change.items():
            if data is not None:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                new.addfile(info, io.BytesIO(data))


def _database_bytes(source: Path) -> bytes:
    with tarfile.open(source / "backup.tar.gz") as archive:
        return archive.extractfile("database.sqlite3").read()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"database.sqlite3": b"SQLite format 3\x00" + b"\x00" * 4000}, "is damaged"),
        ({"manifest.json": None}, "no manifest"),
        ({"manifest.json": b"{not json"}, "manifest is not readable"),
        ({"manifest.json": b" " * 70_000}, "too large"),
        ({"../../evil.sh": b"#!/bin/sh\n"}, "unexpected entries"),
        ({"data.key": b"x"}, "unexpected entries"),
    ],
)
def test_a_damaged_or_foreign_archive_is_refused(
    source: Path, tmp_path: Path, change: dict[str, bytes | None], message: str
) -> None:
    bad = tmp_path / "bad.tar.gz"
    _rewrite(source / "backup.tar.gz", bad, dict(change))
    target = tmp_path / "target"
    target.mkdir()
    refused = run(target, "restore", str(bad))
    assert refused.returncode == 2
    assert message in refused.stderr
    assert not (tmp_path / "evil.sh").exists()


@pytest.mark.parametrize("content", [b"", b"hello", os.urandom(5000)])
def test_a_file_that_is_not_a_backup_is_refused(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "not-a-backup").write_bytes(content)
    refused = run(tmp_path, "restore", str(tmp_path / "not-a-backup"))
    assert refused.returncode == 2
    assert "not an anshin backup" in refused.stderr


def test_backup_refuses_to_overwrite(source: Path) -> None:
    again = run(source, "backup", "--output", str(source / "backup.tar.gz"))
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_a_backup_taken_during_an_import_is_consistent(tmp_path: Path) -> None:
    home = tmp_path / "busy"
    home.mkdir()
    rows = "".join(f"r{i}@example.jp,bousai\n" for i in range(20_000))
    (tmp_path / "big.csv").write_text("email,categories\n" + rows)
    assert run(home, "migrate", "--noinput").returncode == 0
    importer = threading.Thread(
        target=run, args=(home, "residents", "import", str(tmp_path / "big.csv"), "--basis", "b")
    )
    importer.start()
    made = run(home, "backup", "--output", str(tmp_path / "during.tar.gz"))
    importer.join(timeout=300)
    assert made.returncode == 0, made.stderr
    target = tmp_path / "target"
    target.mkdir()
    assert run(target, "restore", str(tmp_path / "during.tar.gz")).returncode == 0
    with sqlite3.connect(target / "anshin.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert run(target, "audit", "verify").returncode == 0


@pytest.fixture
def pg_databases() -> Iterator[tuple[str, str]]:
    base = os.environ["ANSHIN_DATABASE_URL"].rsplit("/", 1)[0]
    names = [f"anshin_backup_{uuid.uuid4().hex[:8]}_{side}" for side in ("a", "b")]
    for name in names:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        for name in names:
            subprocess.run(
                ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=False
            )


@pytest.mark.postgres_only
@pytest.mark.django_db
def test_postgresql_backup_restores_into_another_database(
    tmp_path: Path, pg_databases: tuple[str, str]
) -> None:
    first, second = pg_databases
    (tmp_path / "residents.csv").write_text(RESIDENTS)
    home = tmp_path
    assert run(home, "migrate", "--noinput", ANSHIN_DATABASE_URL=first).returncode == 0
    assert (
        run(
            home,
            "residents",
            "import",
            str(tmp_path / "residents.csv"),
            "--basis",
            "old",
            ANSHIN_DATABASE_URL=first,
        ).returncode
        == 0
    )
    made = run(home, "backup", "--output", str(tmp_path / "pg.tar.gz"), ANSHIN_DATABASE_URL=first)
    assert made.returncode == 0, made.stderr
    restored = run(home, "restore", str(tmp_path / "pg.tar.gz"), ANSHIN_DATABASE_URL=second)
    assert restored.returncode == 0, restored.stderr
    listed = run(
        home,
        "residents",
        "import",
        str(tmp_path / "residents.csv"),
        "--basis",
        "x",
        ANSHIN_DATABASE_URL=second,
    )
    assert "2  already subscribed" in listed.stdout
    assert run(home, "audit", "verify", ANSHIN_DATABASE_URL=second).returncode == 0
