"""`anshin directory import|export` as a real process on a migrated ANSHIN_HOME, and the
progress line in-process."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from anshin.directory.models import StaffMember
from anshin.directory.tests.conftest import HEADER_EN, staff_csv

ROWS = [
    "C01,山﨑 ①郎,cli-taro@city.example.jp,０９０－１１１１－２２２２,総務課,課長,1班,本町,第1配備",
    "C02,鈴木 花子,cli-hanako@city.example.jp,03-3333-4444,防災安全課,主事,2班,栄町,第2配備",
]
PERSONAL = ("cli-taro", "cli-hanako", "山﨑", "鈴木", "1111", "2222", "3333", "4444")

# The commands run in their own processes on their own database; the mark makes the operator
# stack's pass (PostgreSQL) run them too.
pytestmark = pytest.mark.django_db

_ENVS: dict[str, dict[str, str]] = {}


def anshin(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "anshin.core.cli", *args],
        env=_ENVS[str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A migrated ANSHIN_HOME; on the operator stack, with its own throw-away database."""
    from anshin.e2e.stack import _operator_services

    path = tmp_path_factory.mktemp("directory-cli")
    env = {**os.environ, "ANSHIN_HOME": str(path), "ANSHIN_LANGUAGE": "en"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with _operator_services(env):
        _ENVS[str(path)] = env
        assert anshin(path, "migrate", "--noinput").returncode == 0
        yield path
        del _ENVS[str(path)]


def no_personal_data(result: subprocess.CompletedProcess[str]) -> bool:
    return not any(secret in result.stdout + result.stderr for secret in PERSONAL)


def test_import_and_export_round_trip(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "staff.csv"
    source.write_bytes(staff_csv(*ROWS, encoding="cp932"))
    checked = anshin(home, "directory", "import", str(source), "--dry-run")
    assert checked.returncode == 0, checked.stderr
    assert "Dry run" in checked.stdout and "         2  created" in checked.stdout
    imported = anshin(home, "directory", "import", str(source))
    assert imported.returncode == 0, imported.stderr
    assert "Rows: 2 (encoding cp932, matched by staff number)" in imported.stdout
    assert "Recorded as import #" in imported.stdout
    assert no_personal_data(checked) and no_personal_data(imported)
    for encoding, codec in (("cp932", "cp932"), ("utf-8", "utf-8-sig")):
        target = tmp_path / f"export-{encoding}.csv"
        exported = anshin(home, "directory", "export", str(target), "--encoding", encoding)
        assert exported.returncode == 0, exported.stderr
        assert no_personal_data(exported) and str(target) in exported.stdout
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        text = target.read_bytes().decode(codec)
        assert "C01,山﨑 ①郎,cli-taro@city.example.jp,090-1111-2222,総務課" in text
        again = anshin(home, "directory", "import", str(target), "--dry-run")
        assert again.returncode == 0 and "         0  updated" in again.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "export-cp932.csv",
        "export-utf-8.csv",
        "staff.csv",
    ]  # no temporary file left behind


def test_a_bad_row_exits_1_with_the_row_report_and_imports_nothing(
    home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "bad.csv"
    bad = "B03,誤り,cli-bad@city,090-1234-5678,,,,,"
    source.write_bytes(staff_csv(ROWS[0].replace("C01", "B01").replace("cli-taro", "cli-b1"), bad))
    result = anshin(home, "directory", "import", str(source), "--deactivate-missing")
    assert result.returncode == 1
    assert "  line 3 [email_domain] " in result.stdout
    assert "1 row has errors; nothing was imported." in result.stderr
    assert "Traceback" not in result.stderr and no_personal_data(result)
    assert "cli-bad" not in result.stdout + result.stderr
    # Nothing was applied: the good row would still be created, and nobody was deactivated.
    source.write_bytes(staff_csv(ROWS[0].replace("C01", "B01").replace("cli-taro", "cli-b1")))
    check = anshin(home, "directory", "import", str(source), "--dry-run")
    assert check.returncode == 0 and "         1  created" in check.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02binary\xff" * 100, "binary"),
        (b"", "empty"),
        (staff_csv(), "no data rows"),
        (b"\x81\x7f\xff,\xfe\r\n", "neither UTF-8 nor Shift_JIS"),
    ],
)
def test_an_unusable_file_exits_2_with_a_plain_message(
    home: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    source = tmp_path / "input.csv"
    source.write_bytes(content)
    result = anshin(home, "directory", "import", str(source))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_50_mb_file_is_refused_quickly(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "huge.csv"
    line = (ROWS[1] + "\r\n").encode()
    with source.open("wb") as handle:
        handle.write((HEADER_EN + "\r\n").encode())
        handle.write(line * (50 * 1024 * 1024 // len(line) + 1))
    assert source.stat().st_size > 50 * 1024 * 1024
    started = time.monotonic()
    result = anshin(home, "directory", "import", str(source))
    assert time.monotonic() - started < 15  # interpreter start-up included; no parsing
    assert result.returncode == 2
    assert "larger than 20 MB" in result.stderr


def test_missing_file_exits_2(home: Path, tmp_path: Path) -> None:
    result = anshin(home, "directory", "import", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "No such file" in result.stderr


def test_export_of_characters_cp932_lacks_exits_1_and_writes_no_file(
    home: Path, tmp_path: Path
) -> None:
    source = tmp_path / "yoshida.csv"
    source.write_bytes(staff_csv("C05,𠮷田 一,cli-yoshida@city.example.jp,,,,,,"))
    assert anshin(home, "directory", "import", str(source)).returncode == 0
    try:
        target = tmp_path / "export.csv"
        result = anshin(home, "directory", "export", str(target), "--encoding", "cp932")
        assert result.returncode == 1
        assert "(staff number C05), 氏名: U+20BB7 𠮷" in result.stdout
        assert "UTF-8" in result.stderr and "cli-yoshida" not in result.stdout + result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["yoshida.csv"]
    finally:  # leave the shared home exportable in CP932 for the other tests
        source.write_bytes(staff_csv("C05,吉田 一,cli-yoshida@city.example.jp,,,,,,"))
        assert anshin(home, "directory", "import", str(source)).returncode == 0


def test_export_to_an_unwritable_place_exits_2(home: Path, tmp_path: Path) -> None:
    result = anshin(home, "directory", "export", str(tmp_path / "no" / "such" / "dir.csv"))
    assert result.returncode == 2 and "Cannot write" in result.stderr


def test_progress_lines_go_to_stderr_for_big_files(tmp_path: Path) -> None:
    source = tmp_path / "big.csv"
    lines = [f"{i},s{i}@city.example.jp" for i in range(20_001)]
    source.write_bytes(staff_csv(*lines, header="staff_id,email"))
    out, err = io.StringIO(), io.StringIO()
    call_command("directory", "import", str(source), stdout=out, stderr=err)
    assert err.getvalue() == ("read 10000 rows…\nread 20000 rows…\nwriting 20001 staff members…\n")
    assert StaffMember.objects.filter(active=True).count() == 20_001
