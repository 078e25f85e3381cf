"""Benchmark `anshin residents import`: N generated rows into a fresh ANSHIN_HOME.

    .venv/bin/python bench/import_residents.py [--rows 100000]
    .venv/bin/python bench/import_residents.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Runs the real command as a process (interpreter and Django start-up included), first into an
empty database, then the same file again (every row already subscribed). While the import runs,
a probe does one short sign-up-sized write every 50 ms on its own connection and records how
long each took: that is what a resident registering during a migration would wait for the
database. With --database-url (PostgreSQL) a throw-away database anshin_bench_<random> is
created on that server and dropped afterwards. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASIS = "benchmark: migrated from the old system"
CATEGORIES = ["bousai", "bouhan", "bousai;bouhan", "bouhan|bousai"]
CARRIERS = ["docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp"]
PROBE_SQL = (
    "INSERT INTO residents_mailbudget (address_hash, window_start, count, last_sent_at) "
    "VALUES (%s, %s, 1, %s)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default="", help="postgres://… server to use")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="anshin-bench-import-") as tmp:
        home = Path(tmp)
        csv_path = home / "residents.csv"
        generate(csv_path, args.rows)
        env = {**os.environ, "ANSHIN_HOME": str(home)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        if args.database_url:
            with throwaway_postgres(args.database_url) as url:
                env["ANSHIN_DATABASE_URL"] = url
                figures = bench(env, csv_path, args.rows, probe_for(url, home))
        else:
            env.pop("ANSHIN_DATABASE_URL", None)
            figures = bench(env, csv_path, args.rows, probe_for("", home))
    print(json.dumps(figures))


def generate(path: Path, rows: int) -> None:
    """Realistic rows: mostly ordinary addresses, some legacy carrier ones, 1% duplicates."""
    rng = random.Random(2017)  # noqa: S311 - test data, not secrets
    lines = ["email,categories"]
    for i in range(rows):
        if i and rng.random() < 0.01:
            local, domain = lines[rng.randrange(1, len(lines))].split(",")[0].split("@")
        elif i % 10 == 0:
            local, domain = f"taro..{i}.", rng.choice(CARRIERS)
        else:
            local, domain = f"resident{i}.{rng.randrange(10**6)}", f"example{i % 97}.jp"
        lines.append(f"{local}@{domain},{rng.choice(CATEGORIES)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def bench(env: dict[str, str], csv_path: Path, rows: int, probe: Probe) -> dict[str, object]:
    backend = "postgresql" if "ANSHIN_DATABASE_URL" in env else "sqlite"
    run(env, "migrate", "--noinput")
    first = timed(env, csv_path, probe)
    active = probe.count_active()
    again = timed(env, csv_path, probe)
    figures = {
        "backend": backend,
        "rows": rows,
        "first_seconds": round(first["seconds"], 2),
        "first_rows_per_second": round(rows / first["seconds"]),
        "reimport_seconds": round(again["seconds"], 2),
        "reimport_rows_per_second": round(rows / again["seconds"]),
        "active_subscribers": active,
        "probe_writes": first["probe_writes"],
        "probe_max_ms": first["probe_max_ms"],
        "probe_p99_ms": first["probe_p99_ms"],
    }
    print(f"backend: {backend}, {rows} rows")
    for label, key in (("first import", "first"), ("re-import", "reimport")):
        seconds, rate = figures[f"{key}_seconds"], figures[f"{key}_rows_per_second"]
        print(f"  {label}: {seconds} s, {rate} rows/s")
    print(f"  active subscribers afterwards: {active}")
    print(
        f"  sign-up-sized writes during the import: {first['probe_writes']}, "
        f"p99 {first['probe_p99_ms']} ms, max {first['probe_max_ms']} ms"
    )
    return figures


def timed(env: dict[str, str], csv_path: Path, probe: Probe) -> dict[str, float]:
    latencies: list[float] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(0.05):
            started = time.perf_counter()
            probe.write()
            latencies.append((time.perf_counter() - started) * 1000)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    started = time.perf_counter()
    run(env, "residents", "import", str(csv_path), "--basis", BASIS)
    seconds = time.perf_counter() - started
    stop.set()
    thread.join()
    ordered = sorted(latencies) or [0.0]
    return {
        "seconds": seconds,
        "probe_writes": len(latencies),
        "probe_max_ms": round(ordered[-1], 1),
        "probe_p99_ms": round(ordered[int(len(ordered) * 0.99) - 1 if len(ordered) > 1 else 0], 1),
        "probe_median_ms": round(statistics.median(ordered), 1),
    }


def run(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "anshin.core.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"anshin {' '.join(args[:2])} failed:\n{result.stderr}")


class Probe:
    """One short write transaction, like a sign-up's, on its own connection."""

    def __init__(self, connect: Callable[[], Any], placeholder: str, sqlite: bool) -> None:
        self.connect, self.mark, self.sqlite = connect, placeholder, sqlite
        self.conn: Any = None

    def write(self) -> None:
        conn = self.conn = self.conn or self.connect()
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        sql = PROBE_SQL.replace("%s", self.mark)
        if self.sqlite:
            conn.execute("BEGIN IMMEDIATE")  # take the write lock as Django's IMMEDIATE mode does
        conn.execute(sql, (secrets.token_hex(32), now, now))
        conn.commit()

    def count_active(self) -> int:
        conn = self.connect()
        row = conn.execute(
            "SELECT count(*) FROM residents_subscriber WHERE state = 'active'"
        ).fetchone()
        conn.close()
        return int(row[0])


def probe_for(url: str, home: Path) -> Probe:
    if url:
        import psycopg

        return Probe(lambda: psycopg.connect(url), "%s", sqlite=False)
    path = home / "anshin.sqlite3"
    return Probe(
        lambda: sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False),
        "?",
        sqlite=True,
    )


class throwaway_postgres:  # noqa: N801 - used as a context manager, reads like one
    """CREATE DATABASE anshin_bench_<random> on the server, DROP it on the way out."""

    def __init__(self, url: str) -> None:
        self.admin_url = url
        self.name = "anshin_bench_" + secrets.token_hex(4)

    def __enter__(self) -> str:
        self._execute(f'CREATE DATABASE "{self.name}"')
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + self.name))

    def __exit__(self, *exc: object) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)  # the name is generated, not input


if __name__ == "__main__":
    main()
