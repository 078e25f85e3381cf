"""Benchmark `anshin directory import`: N generated staff rows into a fresh ANSHIN_HOME.

    .venv/bin/python -m anshin.directory.bench_import [--n 50000]

Runs the real command as a process (interpreter and Django start-up included, as a city's
script would run it) on SQLite in a temporary ANSHIN_HOME:

1. ``create``: the file into an empty directory (every row created);
2. ``unchanged``: the same file again (every row compared, nothing written but the record);
3. ``changed``: a tenth of the rows changed and a hundredth gone, with --deactivate-missing;
4. ``export``: the directory back to CP932.

The file is what a city's Excel writes: CP932, Japanese headers, names with NEC/IBM extension
characters (﨑, ①), phone numbers half in full-width digits. The goal is ``create`` in at most
10 s for 50,000 rows. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "職員番号,氏名,メールアドレス,電話番号,所属,役職,班,居住地域,参集グループ,資格"
SURNAMES = ("山﨑", "佐藤", "鈴木", "髙橋", "田中", "渡邉", "伊藤", "中村", "小林", "加藤")
GIVEN = ("太郎", "花子", "①郎", "一郎", "美咲", "健", "陽子", "翔太", "直美", "剛")
DEPARTMENTS = ("総務課", "防災安全課", "地域安全課", "市民課", "保険年金課", "道路課", "学務課")
POSITIONS = ("", "主事", "主任", "係長", "課長補佐", "課長", "部長")
AREAS = ("本町", "栄町", "久米川町", "秋津町", "富士見町", "市外")
GROUPS = ("第1配備", "第2配備", "第3配備", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50_000, help="rows in the file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="anshin-bench-directory-") as tmp:
        home = Path(tmp)
        env = {**os.environ, "ANSHIN_HOME": str(home), "ANSHIN_LANGUAGE": "en"}
        for name in ("DJANGO_SETTINGS_MODULE", "ANSHIN_DATABASE_URL"):
            env.pop(name, None)
        run(env, "migrate", "--noinput")
        first, second = home / "staff.csv", home / "staff-changed.csv"
        rows = generate(args.n, seed=2017)
        write(first, rows)
        write(second, changed(rows))
        figures: dict[str, object] = {"rows": args.n, "backend": "sqlite"}
        for phase, extra in (
            ("create", ["directory", "import", str(first)]),
            ("unchanged", ["directory", "import", str(first)]),
            ("changed", ["directory", "import", str(second), "--deactivate-missing"]),
            ("export", ["directory", "export", str(home / "out.csv"), "--encoding", "cp932"]),
        ):
            seconds = run(env, *extra)
            figures[f"{phase}_s"] = round(seconds, 2)
            figures[f"{phase}_rows_per_s"] = round(args.n / seconds)
            print(f"{phase:>10}: {seconds:6.2f} s  {args.n / seconds:10,.0f} rows/s", flush=True)
    figures["goal_create_s"] = 10
    figures["goal_met"] = float(figures["create_s"]) <= 10  # type: ignore[arg-type]
    print(json.dumps(figures))


def generate(n: int, *, seed: int) -> list[list[str]]:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    rows = []
    for i in range(n):
        digits = f"090{i:08d}" if i % 3 else f"042{i % 1000:03d}{i % 10000:04d}"
        phone = f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"
        if i % 2:  # as typed with the IME: full-width digits and hyphens
            phone = phone.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789-"})
        rows.append(
            [
                f"{i:06d}",
                f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
                f"staff{i}.{rng.randrange(10**6)}@city.example.lg.jp",
                phone,
                rng.choice(DEPARTMENTS),
                rng.choice(POSITIONS),
                f"{rng.randrange(1, 6)}班",
                rng.choice(AREAS),
                rng.choice(GROUPS),
                rng.choice(("", "防災士", "救命講習")),
            ]
        )
    return rows


def changed(rows: list[list[str]]) -> list[list[str]]:
    """Every tenth row moved department; every hundredth left (is not in the file)."""
    result = []
    for i, row in enumerate(rows):
        if i % 100 == 99:
            continue
        result.append([*row[:4], "危機管理室", *row[5:]] if i % 10 == 0 else row)
    return result


def write(path: Path, rows: list[list[str]]) -> None:
    lines = [HEADER, *(",".join(row) for row in rows)]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))


def run(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "anshin.core.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"anshin {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return seconds


if __name__ == "__main__":
    main()
