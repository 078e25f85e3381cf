"""The staff directory's own Japanese catalogue is complete and compiled, and is used."""

from __future__ import annotations

import pytest
from django.utils import translation

from anshin.directory.csvio import errors, read_staff_csv
from anshin.directory.tests.conftest import staff_csv


@pytest.mark.parametrize("code", sorted(errors._ROW_MESSAGES))
def test_row_messages_are_japanese_by_default(code: str) -> None:
    with translation.override("ja"):
        japanese = str(errors._ROW_MESSAGES[code])
    with translation.override("en"):
        english = str(errors._ROW_MESSAGES[code])
    assert japanese != english


def test_a_row_report_reads_in_japanese() -> None:
    data = staff_csv(
        "001,山田,taro@city,,,,,,", "002,佐藤,jiro@city.example.jp,,,,,,", "002,鈴木,h@c.jp,,,,,,"
    )
    with translation.override("ja"):
        staff_file = read_staff_csv(data, max_bytes=10_000, max_rows=10)
    assert [e.message for e in staff_file.errors] == [
        "メールアドレスの＠より後ろ（ドメイン）が正しくありません。",
        "3行目と同じ職員番号です。",
    ]
