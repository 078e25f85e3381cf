"""The staff directory's CSV files, as cities actually have them: reading and writing.

Reading (:func:`read_staff_csv`): the bytes are decoded by the residents' importer
(:func:`anshin.residents.importing.decode_csv`: UTF-8 with or without BOM, else CP932, Excel's
Shift_JIS with the NEC and IBM extensions such as ① and 﨑; spreadsheets, UTF-16, binary and
empty files refused). The first non-blank row is the header: Japanese or English names map to
fields (:data:`HEADER_ALIASES`); every other named column is an attribute kept under its header.
Each data row is checked on its own, so the report lists every problem of every row by line
number. No message ever quotes a cell: cells are names, addresses and phone numbers.

Writing (:func:`write_csv`): cells that a spreadsheet would run as a formula (starting with
``= + - @``, TAB or CR) get a leading ``'``; reading removes exactly that ``'`` again, so an
exported file imports back unchanged. UTF-8 is written with a BOM (Excel needs it); CP932
refuses, cell by cell, what it cannot encode instead of writing ``?``.
"""

from anshin.directory.csvio.errors import FileRefused, RowError, row_error
from anshin.directory.csvio.headers import EXPORT_HEADERS, FIELDS, HEADER_ALIASES, header_key
from anshin.directory.csvio.reading import PROGRESS_EVERY, StaffFile, StaffRow, read_staff_csv
from anshin.directory.csvio.writing import (
    ENCODINGS,
    Unencodable,
    UnencodableCell,
    neutralise,
    write_csv,
)

__all__ = [
    "ENCODINGS",
    "EXPORT_HEADERS",
    "FIELDS",
    "HEADER_ALIASES",
    "PROGRESS_EVERY",
    "FileRefused",
    "RowError",
    "StaffFile",
    "StaffRow",
    "Unencodable",
    "UnencodableCell",
    "header_key",
    "neutralise",
    "read_staff_csv",
    "row_error",
    "write_csv",
]
