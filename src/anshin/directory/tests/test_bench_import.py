"""The benchmark's generated files are valid staff lists (so its figures measure imports)."""

from __future__ import annotations

from pathlib import Path

import pytest

from anshin.directory import bench_import
from anshin.directory.tests.conftest import run_import

pytestmark = pytest.mark.django_db


def test_generated_files_import_cleanly(tmp_path: Path) -> None:
    rows = bench_import.generate(300, seed=1)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    bench_import.write(first, rows)
    bench_import.write(second, bench_import.changed(rows))
    created = run_import(first.read_bytes())
    assert (created.status, created.encoding, created.created) == ("applied", "cp932", 300)
    changed = run_import(second.read_bytes(), deactivate_missing=True)
    assert (changed.updated, changed.deactivated, changed.unchanged) == (30, 3, 267)
