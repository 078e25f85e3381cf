"""Reading a staff CSV: decoding, the header, and every row checked on its own."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from django.utils.translation import gettext as _

from anshin.core.addresses import InvalidAddress, normalize_address
from anshin.directory.csvio.errors import FileRefused, RowError, row_error
from anshin.directory.csvio.headers import HEADER_ALIASES, header_key
from anshin.directory.csvio.writing import FORMULA_STARTS
from anshin.directory.models import ATTRIBUTE_FIELDS, ATTRIBUTE_MAX, STAFF_ID_MAX
from anshin.directory.phones import InvalidPhone, normalize_phone
from anshin.residents.importing import ImportAborted, decode_csv

NAME_MAX: Final = 100
EXTRA_MAX: Final = 200  # characters in a further column's cell
MAX_COLUMNS: Final = 100
MAX_LINE_CHARS: Final = 10_000
PROGRESS_EVERY: Final = 10_000
_CONTROL: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


@dataclass(slots=True)
class StaffRow:
    """A valid data row. ``None`` means the file has no such column (the field is left as it
    is); an empty string clears it."""

    line: int
    email: str  # normalised
    staff_id: str | None
    name: str | None
    phone: str | None  # E.164 or ""
    attributes: dict[str, str]
    extra: dict[str, str]


@dataclass
class StaffFile:
    encoding: str
    columns: dict[str, str]  # field -> its header as written in the file
    extra_columns: list[str]
    rows: list[StaffRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    data_rows: int = 0

    @property
    def key(self) -> str:
        """Rows are matched by staff number when the file has that column, else by address."""
        return "staff_id" if "staff_id" in self.columns else "email"


def read_staff_csv(
    data: bytes,
    *,
    max_bytes: int,
    max_rows: int,
    progress: Callable[[int], None] | None = None,
) -> StaffFile:
    """Parse and check a staff CSV; raise :class:`FileRefused` if it is unusable as a whole."""
    if len(data) > max_bytes:
        raise FileRefused(
            "too_large",
            _("The file is larger than %(limit)s MB, the most one import takes.")
            % {"limit": _megabytes(max_bytes)},
        )
    try:
        text = decode_csv(data)
    except ImportAborted as exc:
        raise _refused(exc) from None
    return _Reader(text.encoding, max_rows, progress).read(text.lines())


def _refused(exc: ImportAborted) -> FileRefused:
    if exc.code == "not_csv":  # its own message describes the residents' two-column file
        return FileRefused(
            "not_csv",
            _(
                "The file has a single column. A staff list needs a header row and columns "
                "such as %(example)s."
            )
            % {"example": "職員番号,氏名,メールアドレス,電話番号,所属"},
        )
    return FileRefused(exc.code, exc.message)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


class _Reader:
    def __init__(
        self, encoding: str, max_rows: int, progress: Callable[[int], None] | None
    ) -> None:
        self.encoding, self.max_rows, self.progress = encoding, max_rows, progress
        self.seen_email: dict[str, int] = {}
        self.seen_staff_id: dict[str, int] = {}

    def read(self, lines: list[str]) -> StaffFile:
        numbered = iter(enumerate(lines, start=1))
        layout = self._header(numbered)
        result = StaffFile(self.encoding, layout.columns, layout.extra_columns)
        for number, line in numbered:
            cells = _cells(number, line)
            if isinstance(cells, RowError):
                result.errors.append(cells)
            elif not any(cells):
                continue
            result.data_rows += 1
            if result.data_rows > self.max_rows:
                raise FileRefused(
                    "too_many_rows",
                    _("The file has more than %(limit)d data rows, the most one import takes.")
                    % {"limit": self.max_rows},
                )
            if not isinstance(cells, RowError):
                self._add(result, layout.row(number, cells))
            if self.progress and result.data_rows % PROGRESS_EVERY == 0:
                self.progress(result.data_rows)
        if not result.data_rows:
            raise FileRefused("no_rows", _("The file has a header row but no data rows."))
        return result

    def _header(self, numbered: Iterable[tuple[int, str]]) -> _Layout:
        for number, line in numbered:
            cells = _cells(number, line)
            if isinstance(cells, RowError):
                raise FileRefused("header", _("The header row is not valid CSV."))
            if any(cells):
                return _Layout.from_header(cells)
        raise FileRefused("empty", _("The file is empty."))

    def _add(self, result: StaffFile, parsed: StaffRow | list[RowError]) -> None:
        if isinstance(parsed, list):
            result.errors.extend(parsed)
            return
        duplicates = [
            _duplicate(parsed.line, "email", self.seen_email.setdefault(parsed.email, parsed.line))
        ]
        if parsed.staff_id is not None:
            first = self.seen_staff_id.setdefault(parsed.staff_id, parsed.line)
            duplicates.append(_duplicate(parsed.line, "staff_id", first))
        errors = [error for error in duplicates if error is not None]
        if errors:
            result.errors.extend(errors)
        else:
            result.rows.append(parsed)


def _cells(number: int, line: str) -> list[str] | RowError:
    if len(line) > MAX_LINE_CHARS:
        return row_error(number, "", "row_too_long", max=MAX_LINE_CHARS)
    try:
        # One line at a time: a stray quote spoils its own row, not the rest of the file.
        return next(csv.reader((line,), strict=True), [])
    except csv.Error:
        return row_error(number, "", "quote")


def _duplicate(line: int, name: str, first: int) -> RowError | None:
    return None if first == line else row_error(line, name, "duplicate", first=first)


@dataclass(frozen=True)
class _Layout:
    """Where each field is in a row, from the header."""

    width: int
    index: dict[str, int]
    columns: dict[str, str]
    extra: dict[str, int]

    @property
    def extra_columns(self) -> list[str]:
        return list(self.extra)

    @classmethod
    def from_header(cls, cells: list[str]) -> _Layout:
        headers = [_unneutralise(cell).strip() for cell in cells]
        while headers and not headers[-1]:  # Excel's trailing empty columns
            headers.pop()
        if any("@" in header for header in headers):  # checked first: no message quotes it
            raise FileRefused(
                "no_header",
                _("The first row must be the header row (column names), not a staff member."),
            )
        if len(headers) > MAX_COLUMNS:
            raise FileRefused(
                "columns", _("The file has more than %(max)d columns.") % {"max": MAX_COLUMNS}
            )
        index: dict[str, int] = {}
        columns: dict[str, str] = {}
        extra: dict[str, int] = {}
        for position, header in enumerate(headers):
            _check_header(position, header, headers)
            name = HEADER_ALIASES.get(header_key(header))
            if name is None:
                extra[header] = position
            elif name in index:
                raise FileRefused(
                    "duplicate_column",
                    _("Two columns mean the same field: '%(first)s' and '%(second)s'.")
                    % {"first": columns[name], "second": header},
                )
            else:
                index[name], columns[name] = position, header
        if "email" not in index:
            raise FileRefused(
                "no_email_column",
                _("The header row has no e-mail column. Name it メールアドレス or email."),
            )
        return cls(len(headers), index, columns, extra)

    def row(self, number: int, cells: list[str]) -> StaffRow | list[RowError]:
        while len(cells) > self.width and not cells[-1].strip():
            cells.pop()
        if len(cells) != self.width:
            return [row_error(number, "", "columns", cells=len(cells), columns=self.width)]
        cells = [_unneutralise(cell).strip() for cell in cells]
        errors: list[RowError] = []
        email = _email(number, cells[self.index["email"]], errors)
        row = StaffRow(
            line=number,
            email=email,
            staff_id=self._staff_id(number, cells, errors),
            name=self._optional(number, cells, "name", NAME_MAX, errors),
            phone=self._phone(number, cells, errors),
            attributes={
                name: _text(number, name, cells[self.index[name]], ATTRIBUTE_MAX, errors)
                for name in ATTRIBUTE_FIELDS
                if name in self.index
            },
            extra={
                header: _text(number, header, cells[position], EXTRA_MAX, errors)
                for header, position in self.extra.items()
            },
        )
        return errors or row

    def _staff_id(self, number: int, cells: list[str], errors: list[RowError]) -> str | None:
        if "staff_id" not in self.index:
            return None
        value = unicodedata.normalize("NFKC", cells[self.index["staff_id"]]).strip()
        if not value:
            errors.append(row_error(number, "staff_id", "staff_id_missing"))
        elif len(value) > STAFF_ID_MAX or any(ch.isspace() for ch in value):
            errors.append(row_error(number, "staff_id", "staff_id_invalid", max=STAFF_ID_MAX))
        elif _has_control(value):
            errors.append(row_error(number, "staff_id", "control_chars"))
        return value

    def _optional(
        self, number: int, cells: list[str], name: str, limit: int, errors: list[RowError]
    ) -> str | None:
        if name not in self.index:
            return None
        return _text(number, name, cells[self.index[name]], limit, errors)

    def _phone(self, number: int, cells: list[str], errors: list[RowError]) -> str | None:
        if "phone" not in self.index:
            return None
        value = cells[self.index["phone"]]
        if not value:
            return ""
        try:
            return normalize_phone(value)
        except InvalidPhone as exc:
            errors.append(row_error(number, "phone", "phone_" + exc.code))
            return ""


def _check_header(position: int, header: str, headers: list[str]) -> None:
    if not header:
        raise FileRefused(
            "blank_header",
            _("Column %(column)d has no name in the header row.") % {"column": position + 1},
        )
    if len(header) > EXTRA_MAX or _has_control(header):
        raise FileRefused(
            "header",
            _("The name of column %(column)d is too long or has control characters.")
            % {"column": position + 1},
        )
    if headers.index(header) != position:
        raise FileRefused(
            "duplicate_column",
            _("Two columns have the same name: '%(name)s'.") % {"name": header},
        )


def _email(number: int, value: str, errors: list[RowError]) -> str:
    try:
        return normalize_address(value)
    except InvalidAddress as exc:
        errors.append(row_error(number, "email", "email_" + exc.code))
        return ""


def _text(number: int, name: str, value: str, limit: int, errors: list[RowError]) -> str:
    if len(value) > limit:
        errors.append(row_error(number, name, "too_long", max=limit))
    elif _has_control(value):
        errors.append(row_error(number, name, "control_chars"))
    return value


def _has_control(value: str) -> bool:
    return not value.isprintable() and any(unicodedata.category(ch) in _CONTROL for ch in value)


def _unneutralise(cell: str) -> str:
    """Undo :func:`neutralise`: ``'=1+1`` was written for ``=1+1``."""
    if cell[:1] == "'" and cell[1:2] and cell[1] in FORMULA_STARTS:
        return cell[1:]
    return cell
