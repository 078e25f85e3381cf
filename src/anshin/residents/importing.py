"""Bulk import of residents who consented elsewhere, e.g. in the old mail system (S6).

A CSV of ``email,categories`` becomes active subscribers whose consent basis is the operator's
text (``--basis``), recorded on each subscriber. Entry points (`anshin residents import`, later
a console page and ``--notify``) decode the file with :func:`decode_csv`, call
:func:`residents_import` and render its :class:`ImportResult`.

Rules, and why:

* An address already **active** is left as it is: the resident's own choices win.
* A **pending** address (a web sign-up not yet confirmed) becomes active with the file's
  categories and the basis: the file is the evidence of consent, the unconfirmed web choice is
  not. Its outstanding confirmation link stops working.
* An **unsubscribed** address stays unsubscribed: the resident chose to leave, and a migration
  must never sign them up again. It is counted, not re-added.
* An address that appears twice in the file is imported once; the categories of both rows are
  combined (old systems often export one row per subscription). Later rows are reported.
* A bad row is reported by line number and code and skipped; the rest are imported. No report,
  exception or audit record ever quotes a cell: a cell may be an address.

Work happens in chunks: one look-up query and a few bulk inserts per chunk, each chunk its own
short transaction, so on SQLite the write lock is held for milliseconds and web sign-ups go on
during a large import. A crash leaves whole chunks behind; importing the same file again is
safe (what is there is counted, not doubled).
"""

from __future__ import annotations

import csv
import re
import secrets
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import IntegrityError, connection, transaction
from django.db.models import Field, Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anshin.alerts.models import Category
from anshin.core import crypto
from anshin.core.addresses import InvalidAddress, normalize_address
from anshin.core.audit import Actor, audit_record
from anshin.residents.models import EMAIL_CONTEXT, Subscriber

CHUNK_ROWS: Final = 1000
MAX_ROW_CHARS: Final = 1000
BASIS_MAX: Final = 200  # Subscriber.consent_basis.max_length (a test keeps them equal)

#: First cells (after NFKC, lower-cased) that mark the first row as a header, not data.
EMAIL_HEADERS: Final = frozenset(
    {"email", "e-mail", "mail", "email address", "e-mail address", "mailaddress", "address"}
    | {"メールアドレス", "メール", "アドレス"}
)
_CATEGORY_SEPARATOR: Final = re.compile(r"[;|]")
_CONTROL: Final = frozenset({"Cc", "Cf", "Zl", "Zp"})
#: Control characters (Unicode Cc) other than TAB, LF and CR: not in any text CSV.
_CONTROL_CHARACTER: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPREADSHEET_MAGIC: Final = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (zip), old .xls
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")

Through = Subscriber.categories.through
_Row = Sequence[Any]


def _concrete(model: type[Model], *names: str) -> list[Field[Any, Any]]:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    return [f for f in fields if not names or f.name in names]


#: Columns of a new subscriber (every concrete field but the id), and where the three values
#: that differ per row go.
_FIELDS: Final = _concrete(Subscriber)
_HASH, _CIPHER, _TOKEN = (
    [f.name for f in _FIELDS].index(name)
    for name in ("email_hash", "email_ciphertext", "token_key")
)
_LINK_FIELDS: Final = _concrete(Through, "subscriber", "category")


class ImportAborted(Exception):
    """The file or the arguments cannot be imported at all; nothing was written.

    ``code`` names the reason; the message is a plain sentence that never quotes the file.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RowProblem:
    """A row that was not imported as written: its line number, a code and a plain message."""

    line: int
    code: str
    message: str


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do). Counts are of data rows."""

    basis: str
    dry_run: bool
    header: bool = False
    rows: int = 0
    created: int = 0
    activated: int = 0  # were pending
    already_subscribed: int = 0
    unsubscribed_not_readded: int = 0
    duplicates_in_file: list[RowProblem] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    #: Subscribers this import made active (created or activated): whom --notify will mail.
    subscriber_ids: list[int] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.activated

    @property
    def valid_rows(self) -> int:
        return self.rows - len(self.errors)

    def audit_details(self) -> dict[str, Any]:
        """Counts only: no address, no subscriber id list."""
        return {
            "basis": self.basis,
            "rows": self.rows,
            "created": self.created,
            "activated": self.activated,
            "already_subscribed": self.already_subscribed,
            "unsubscribed_not_readded": self.unsubscribed_not_readded,
            "duplicates_in_file": len(self.duplicates_in_file),
            "errors": len(self.errors),
            "error_codes": dict(sorted(Counter(e.code for e in self.errors).items())),
        }


@dataclass(frozen=True)
class CsvText:
    text: str
    encoding: str  # "utf-8", "utf-8-sig" (with BOM) or "cp932"

    def lines(self) -> list[str]:
        return self.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def decode_csv(data: bytes) -> CsvText:
    """Decode an uploaded or exported CSV: UTF-8 (with or without BOM), else CP932 (Excel).

    Raises :class:`ImportAborted` for a file that is empty, binary, a spreadsheet, UTF-16, in
    another encoding, or has no comma at all.
    """
    if data.startswith(_SPREADSHEET_MAGIC):
        raise ImportAborted(
            "spreadsheet",
            _("This is an Excel workbook, not a CSV file. In Excel, save it as CSV first."),
        )
    if data.startswith(_UTF16_BOMS):
        raise ImportAborted(
            "utf16", _("The file is UTF-16 text. Save it as 'CSV UTF-8' or as CSV (Shift_JIS).")
        )
    if b"\x00" in data:
        raise ImportAborted("binary", _("The file is binary, not a CSV text file."))
    decoded = _decode(data)
    text = decoded.text
    if not text.strip():
        raise ImportAborted("empty", _("The file is empty."))
    if _CONTROL_CHARACTER.search(text):
        raise ImportAborted("binary", _("The file is binary, not a CSV text file."))
    if "," not in text:
        raise ImportAborted(
            "not_csv",
            _(
                "The file is not a CSV of two columns: e-mail address, categories "
                "(for example: taro@example.jp,bousai;bouhan)."
            ),
        )
    return decoded


def _decode(data: bytes) -> CsvText:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8"
        return CsvText(text=text, encoding=encoding)
    raise ImportAborted(
        "encoding",
        _("The file is neither UTF-8 nor Shift_JIS (CP932) text. Save it as CSV from Excel."),
    )


def clean_basis(basis: str) -> str:
    """The consent basis recorded on each subscriber: one line, at most BASIS_MAX characters."""
    basis = basis.strip()
    if not basis:
        raise ImportAborted(
            "basis_required",
            _("Give the consent basis, e.g. 'migrated from the old system, 2017-03-01'."),
        )
    if any(unicodedata.category(ch) in _CONTROL for ch in basis):
        raise ImportAborted(
            "basis_control", _("The consent basis must be one line without control characters.")
        )
    if len(basis) > BASIS_MAX:
        raise ImportAborted(
            "basis_too_long",
            _("The consent basis is too long: %(length)d characters, at most %(max)d.")
            % {"length": len(basis), "max": BASIS_MAX},
        )
    return basis


def residents_import(
    *,
    lines: Iterable[str],
    basis: str,
    actor: Actor,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportResult:
    """Import consented residents from CSV lines (``email,categories``, header optional).

    ``lines`` are decoded text lines (see :func:`decode_csv`); line numbers in the result count
    from 1 and include the header. ``progress`` is called with the number of data rows read
    after each chunk. A dry run reads the database to predict the counts but writes nothing.
    One audit event records the whole import (counts and basis). Raises :class:`ImportAborted`
    for a bad basis or a file without data rows.
    """
    basis = clean_basis(basis)
    importer = _Importer(basis=basis, dry_run=dry_run, chunk_rows=chunk_rows)
    result = importer.run(lines, progress)
    if not dry_run:
        with transaction.atomic():
            audit_record(actor=actor, action="residents.import", details=result.audit_details())
    return result


@dataclass(slots=True, eq=False)
class _Entry:
    """A valid row, first of its address in the file."""

    line: int
    hash: str
    address: str  # cleared once its chunk is written
    categories: set[int]
    written: bool = False
    pk: int | None = None  # set if this import made the subscriber active


@dataclass
class _Outcome:
    already: int = 0
    unsubscribed: int = 0
    created: list[tuple[_Entry, int]] = field(default_factory=list)
    activated: list[tuple[_Entry, int]] = field(default_factory=list)
    would_create: int = 0
    would_activate: int = 0


class _Importer:
    def __init__(self, *, basis: str, dry_run: bool, chunk_rows: int) -> None:
        self.basis, self.dry_run, self.chunk_rows = basis, dry_run, chunk_rows
        self.result = ImportResult(basis=basis, dry_run=dry_run)
        self.categories, slugs = _category_names()
        self.known = ", ".join(slugs)
        self.category_cache: dict[str, frozenset[int] | str] = {}
        self.seen: dict[str, _Entry] = {}
        self.chunk: list[_Entry] = []
        self.merges: list[tuple[int, int]] = []  # (subscriber pk, category id) from duplicates
        self.first_row = True

    def run(self, lines: Iterable[str], progress: Callable[[int], None] | None) -> ImportResult:
        for number, line in enumerate(lines, start=1):
            row = self._parse(number, line)
            if row is None:
                continue
            self.result.rows += 1
            if isinstance(row, RowProblem):
                self.result.errors.append(row)
            else:
                self._add(row)
            if len(self.chunk) >= self.chunk_rows:
                self._flush()
                if progress:
                    progress(self.result.rows)
        self._flush()
        if not self.result.rows:
            raise _no_rows(self.result.header)
        return self.result

    # --- Reading rows --------------------------------------------------------------------

    def _parse(self, number: int, line: str) -> _Entry | RowProblem | None:
        """A valid entry, a problem, or None for a blank line or the header."""
        line = line.rstrip("\r\n")
        if len(line) > MAX_ROW_CHARS:
            return _problem(number, "row_too_long", max=MAX_ROW_CHARS)
        try:
            # One line at a time: a stray quote then spoils one row, not the rest of the file.
            cells = [cell.strip() for cell in next(csv.reader((line,), strict=True), [])]
        except csv.Error:
            return _problem(number, "quote")
        if not any(cells):
            return None
        first_row, self.first_row = self.first_row, False
        if first_row and unicodedata.normalize("NFKC", cells[0]).lower() in EMAIL_HEADERS:
            self.result.header = True
            return None
        return self._entry(number, cells)

    def _entry(self, number: int, cells: list[str]) -> _Entry | RowProblem:
        while len(cells) > 2 and not cells[-1]:  # trailing empty columns, as Excel writes them
            cells.pop()
        if len(cells) != 2:
            return _problem(number, "columns")
        try:
            address = normalize_address(cells[0])
        except InvalidAddress as exc:
            # Its message is a fixed sentence chosen by the code, never the address.
            return RowProblem(line=number, code=exc.code, message=str(exc))
        categories = self._categories(cells[1])
        if isinstance(categories, str):
            return _problem(number, categories, known=self.known)
        return _Entry(number, crypto.lookup_hash(address), address, set(categories))

    def _categories(self, cell: str) -> frozenset[int] | str:
        """Category ids for a cell such as ``bousai;bouhan``, or an error code."""
        cached = self.category_cache.get(cell)
        if cached is None:
            text = unicodedata.normalize("NFKC", cell).lower()
            names = [n.strip() for n in _CATEGORY_SEPARATOR.split(text) if n.strip()]
            ids = [self.categories.get(name) for name in names]
            if not names:
                cached = "no_categories"
            elif None in ids:
                cached = "unknown_category"
            else:
                cached = frozenset(i for i in ids if i is not None)
            self.category_cache[cell] = cached
        return cached

    def _add(self, entry: _Entry) -> None:
        first = self.seen.get(entry.hash)
        if first is None:
            self.seen[entry.hash] = entry
            self.chunk.append(entry)
            return
        message = _("Same address as line %(line)d; counted once, categories combined.")
        self.result.duplicates_in_file.append(
            RowProblem(entry.line, "duplicate", message % {"line": first.line})
        )
        added = entry.categories - first.categories
        first.categories |= added
        if first.written and first.pk is not None:
            self.merges.extend((first.pk, category) for category in added)

    # --- Writing chunks ------------------------------------------------------------------

    def _flush(self) -> None:
        if not self.chunk and not self.merges:
            return
        outcome = self._write_with_retry()
        self._apply(outcome)
        self.chunk, self.merges = [], []

    def _write_with_retry(self) -> _Outcome:
        for attempt in range(3):
            outcome, new, pending = self._plan()
            if self.dry_run:
                outcome.would_create, outcome.would_activate = len(new), len(pending)
                return outcome
            # Encrypted and prepared before the transaction: the write lock covers inserts only.
            rows = self._new_rows(new)
            try:
                with transaction.atomic():
                    self._commit(outcome, new, rows, pending)
                return outcome
            except IntegrityError:
                # Someone signed up with one of these addresses between our look-up and our
                # insert. The unique hash refused the second row; the retry finds theirs.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _plan(self) -> tuple[_Outcome, list[_Entry], list[tuple[_Entry, int]]]:
        """Sort the chunk by what the database holds: one query, outside any transaction."""
        outcome = _Outcome()
        rows = Subscriber.objects.filter(email_hash__in=[e.hash for e in self.chunk])
        found = {h: (pk, state) for h, pk, state in rows.values_list("email_hash", "pk", "state")}
        new, pending = [], []
        for entry in self.chunk:
            pk, state = found.get(entry.hash, (None, None))
            if pk is None:
                new.append(entry)
            elif state == Subscriber.State.PENDING:
                pending.append((entry, pk))
            elif state == Subscriber.State.ACTIVE:
                outcome.already += 1
            else:
                outcome.unsubscribed += 1
        return outcome, new, pending

    def _new_rows(self, entries: list[_Entry]) -> list[list[Any]]:
        """Column values of new subscribers, in the order of ``_FIELDS``.

        What is the same for every row (state, basis, times, defaults of any field added later)
        is prepared once, from a model instance, exactly as ``save()`` would prepare it.
        """
        template = Subscriber(
            state=Subscriber.State.ACTIVE,
            consent_basis=self.basis,
            confirmed_at=timezone.now(),
            notice=None,  # they never saw our notice; the consent basis says why they are here
        )
        same = [f.get_db_prep_save(f.pre_save(template, True), connection) for f in _FIELDS]
        cipher = Subscriber._meta.get_field("email_ciphertext")
        assert isinstance(cipher, Field)
        rows = []
        for entry in entries:
            encrypted = crypto.encrypt(entry.address, context=EMAIL_CONTEXT)
            row = list(same)
            row[_HASH] = entry.hash
            row[_CIPHER] = cipher.get_db_prep_save(encrypted, connection)
            row[_TOKEN] = secrets.token_hex(16)
            rows.append(row)
        return rows

    def _commit(
        self,
        outcome: _Outcome,
        new: list[_Entry],
        rows: list[list[Any]],
        pending: list[tuple[_Entry, int]],
    ) -> None:
        _insert(Subscriber, _FIELDS, rows)
        created = Subscriber.objects.filter(email_hash__in=[e.hash for e in new])
        pks = dict(created.values_list("email_hash", "pk"))
        outcome.created = [(entry, pks[entry.hash]) for entry in new]
        outcome.activated = self._activate(pending, outcome)
        links = [(pk, c) for e, pk in outcome.created + outcome.activated for c in e.categories]
        _insert(Through, _LINK_FIELDS, links)
        if self.merges:  # duplicates of rows in earlier chunks: links may exist already
            Through.objects.bulk_create(
                [Through(subscriber_id=pk, category_id=c) for pk, c in self.merges],
                ignore_conflicts=True,
            )

    def _activate(
        self, pending: list[tuple[_Entry, int]], outcome: _Outcome
    ) -> list[tuple[_Entry, int]]:
        """Pending → active with the file's categories. The confirmation link dies with the nonce;
        the notice they were shown at sign-up stays recorded."""
        if not pending:
            return []
        locked = {
            s.pk: s
            for s in Subscriber.objects.select_for_update()
            .filter(pk__in=[pk for _, pk in pending], state=Subscriber.State.PENDING)
            .order_by("pk")
        }
        now = timezone.now()
        for subscriber in locked.values():
            subscriber.state = Subscriber.State.ACTIVE
            subscriber.consent_basis = self.basis
            subscriber.confirm_nonce = ""
            subscriber.token_key = secrets.token_hex(16)
            subscriber.confirmed_at = now
            subscriber.unsubscribed_at = None
        fields = ["state", "consent_basis", "confirm_nonce", "token_key", "confirmed_at"]
        Subscriber.objects.bulk_update(locked.values(), [*fields, "unsubscribed_at"])
        Through.objects.filter(subscriber_id__in=list(locked)).delete()
        outcome.already += len(pending) - len(locked)  # confirmed by the resident meanwhile
        return [(entry, pk) for entry, pk in pending if pk in locked]

    def _apply(self, outcome: _Outcome) -> None:
        result = self.result
        result.already_subscribed += outcome.already
        result.unsubscribed_not_readded += outcome.unsubscribed
        result.created += outcome.would_create + len(outcome.created)
        result.activated += outcome.would_activate + len(outcome.activated)
        for entry, pk in outcome.created + outcome.activated:
            entry.pk = pk
            result.subscriber_ids.append(pk)
        for entry in self.chunk:
            entry.written, entry.address = True, ""


def _insert(model: type[Model], fields: list[Field[Any, Any]], rows: Sequence[_Row]) -> None:
    """Insert rows of prepared values: COPY on PostgreSQL, multi-row INSERTs elsewhere.

    Used instead of ``bulk_create`` for the two big inserts of an import. For 100,000 rows
    (and ~150,000 category links) ``bulk_create`` spent most of the import's time building
    model instances and preparing every value one by one — 6 s on SQLite and 13 s on
    PostgreSQL (bench/import_residents.py) — inside the transaction, i.e. while holding
    SQLite's write lock. Here values that are the same for every row are prepared once, and
    PostgreSQL receives them by COPY instead of as SQL literals (its parse took another 8 s).
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column or f.get_attname()) for f in fields)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql" and hasattr(cursor.cursor, "copy"):  # psycopg 3
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        head = f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 - names from the model
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        size = max(1, min(CHUNK_ROWS, connection.ops.bulk_batch_size(fields, list(rows))))
        for start in range(0, len(rows), size):
            batch = rows[start : start + size]
            cursor.execute(head + ", ".join([one] * len(batch)), [v for r in batch for v in r])


def _category_names() -> tuple[dict[str, int], list[str]]:
    """Active categories by slug and by Japanese name (old systems export 防災, 防犯), and the
    slugs to suggest in messages."""
    names: dict[str, int] = {}
    slugs = []
    for category in Category.objects.filter(active=True):
        names[unicodedata.normalize("NFKC", category.name_ja).lower()] = category.pk
        names[category.slug.lower()] = category.pk
        slugs.append(category.slug)
    return names, slugs


_ROW_MESSAGES: Final = {
    "row_too_long": gettext_lazy("The row is longer than %(max)d characters."),
    "quote": gettext_lazy("A quotation mark in this row is not closed or is misplaced."),
    "columns": gettext_lazy(
        "The row needs two columns: e-mail address, categories. "
        "Separate several categories with ; or |."
    ),
    "no_categories": gettext_lazy("No category given; use %(known)s."),
    "unknown_category": gettext_lazy("Unknown category; use %(known)s, separated by ; or |."),
}


def _problem(line: int, code: str, **params: object) -> RowProblem:
    message = str(_ROW_MESSAGES[code])
    return RowProblem(line=line, code=code, message=message % params if params else message)


def _no_rows(header: bool) -> ImportAborted:
    if header:
        return ImportAborted("no_rows", _("The file has a header row but no data rows."))
    return ImportAborted("empty", _("The file is empty."))
