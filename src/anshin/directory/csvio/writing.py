"""Writing a staff CSV that a spreadsheet opens safely, in UTF-8 (BOM) or CP932."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

ENCODINGS: Final = ("utf-8", "cp932")
#: What makes a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class UnencodableCell:
    line: int
    column: int  # 0-based
    character: str


class Unencodable(Exception):
    """Some cells hold characters the chosen encoding cannot write."""

    def __init__(self, cells: list[UnencodableCell]) -> None:
        super().__init__(f"{len(cells)} cells cannot be encoded")
        self.cells = cells


def neutralise(cell: str) -> str:
    """Make a cell that a spreadsheet would run as a formula plain text (OWASP CSV injection)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def write_csv(rows: Iterable[Sequence[str]], *, encoding: str) -> bytes:
    """CSV bytes (CRLF, as Excel writes) in UTF-8 with a BOM, or in CP932.

    Raises :class:`Unencodable` listing every cell CP932 cannot hold (line numbers count the
    header as line 1).
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"Unknown encoding {encoding!r}; use one of {ENCODINGS}.")
    table = [[neutralise(cell) for cell in row] for row in rows]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table)
    if encoding == "utf-8":
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    try:
        return buffer.getvalue().encode("cp932")
    except UnicodeEncodeError:
        raise Unencodable(_unencodable(table)) from None


def _unencodable(table: list[list[str]]) -> list[UnencodableCell]:
    found = []
    for line, row in enumerate(table, start=1):
        for column, cell in enumerate(row):
            for character in cell:
                try:
                    character.encode("cp932")
                except UnicodeEncodeError:
                    found.append(UnencodableCell(line, column, character))
                    break
    return found
