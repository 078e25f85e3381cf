"""The staff directory's own Japanese catalogue is complete and compiled, and is used."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from anshin.core.tests.test_translations import (
    PLACEHOLDER,
    catalogue_of_mo,
    catalogue_of_po,
    comparable,
    parse_po,
)
from anshin.directory.csvio import errors, read_staff_csv
from anshin.directory.tests.conftest import staff_csv

MESSAGES = Path(__file__).resolve().parents[1] / "locale" / "ja" / "LC_MESSAGES"


def test_every_message_is_translated_keeping_its_placeholders() -> None:
    entries = parse_po(MESSAGES / "django.po")
    assert len(entries) > 50
    for entry in entries:
        assert "fuzzy" not in entry.flags, entry
        if entry.msgid:
            for text in entry.translations.values():
                assert text, entry
                assert sorted(PLACEHOLDER.findall(text)) == sorted(
                    PLACEHOLDER.findall(entry.msgid)
                ), entry


def test_compiled_catalogue_matches_po() -> None:
    stale = "django.mo is out of date: run `msgfmt -o django.mo django.po` in " + str(MESSAGES)
    expected = comparable(catalogue_of_po(parse_po(MESSAGES / "django.po")))
    assert comparable(catalogue_of_mo(MESSAGES / "django.mo")) == expected, stale


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
