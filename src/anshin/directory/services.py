"""Staff directory services: CSV import (preview, then apply) and export.

Import rules, and why:

* **All or nothing.** A staff list is the city's roll for a disaster call-out; half of it is
  worse than yesterday's whole. Any row error (or a refused file) → nothing is written, and the
  report lists every problem by line. A dry run is the preview: the same checks, the same counts,
  no writes. Applying is one transaction; the encryption happens before it, so on SQLite the
  write lock is held only for the inserts and updates.
* **Matching.** By staff number when the file has a staff-number column (every row then needs
  one), else by e-mail address. A staff number seen for the first time adopts the active member
  with the same address who has no staff number yet (a city moving from an address-only list to
  numbered staff); a member who left and is back in the file is reactivated.
* **Columns.** Only the e-mail column is required. A column the file has sets its field, and an
  empty cell clears it; a field whose column the file lacks is left as it is (so a file of
  staff numbers, addresses and positions updates positions only). Further columns become
  attributes under their header.
* **Leavers.** ``deactivate_missing`` deactivates every active member the file does not match.
  They stay in the table, inactive, for the record; nothing here deletes a member.
* **Addresses.** Two active members may not share an address; a row whose address belongs to an
  active member the file does not otherwise touch is an error (``email_in_use``).
* **Evidence.** An applied import writes a :class:`DirectoryImport` (file SHA-256, counts, actor)
  and an audit event with counts only; an export writes an audit event. Neither ever holds a
  name, address or phone number, nor does any report or message.
* **Concurrency.** The plan is made outside the transaction; inside it (SQLite's write lock, or
  a table lock on PostgreSQL) the directory is read again and compared with what the plan saw,
  and a plan made stale by a concurrent change is made again. Comparing the rows themselves
  (not a timestamp) means no writer elsewhere has to remember to bump anything; it costs one
  read of the table under the lock (about 0.2 s for 50,000 members).

Limits (Django settings, read when used): ``DIRECTORY_IMPORT_MAX_BYTES`` (default 20 MB) and
``DIRECTORY_IMPORT_MAX_ROWS`` (default 100,000 — a file of exactly 100,000 data rows is
accepted). A city's staff list is a few thousand rows; the limits only keep a wrong file (a
database dump, a video) from tying up the machine.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from anshin.core.audit import Actor, audit_record
from anshin.core.models import AuditEvent
from anshin.directory import csvio, importing
from anshin.directory.csvio import FileRefused, RowError, StaffFile
from anshin.directory.models import (
    ATTRIBUTE_FIELDS,
    DirectoryImport,
    StaffMember,
)
from anshin.directory.phones import national_format

DEFAULT_MAX_BYTES: Final = 20 * 1024 * 1024
DEFAULT_MAX_ROWS: Final = 100_000
ATTEMPTS: Final = 3

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class FileProblem:
    code: str
    message: str


@dataclass
class ImportReport:
    """What an import did, or (dry run) would do. Counts are of data rows and members."""

    dry_run: bool
    deactivate_missing: bool
    sha256: str
    status: str = "refused"  # "applied", "checked" (a dry run without errors) or "refused"
    encoding: str = ""
    key: str = ""  # rows matched by "staff_id" or "email"
    columns: dict[str, str] = field(default_factory=dict)  # field -> header in the file
    extra_columns: list[str] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    reactivated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    problem: FileProblem | None = None  # the file as a whole was refused
    errors: list[RowError] = field(default_factory=list)
    import_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status != "refused"

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "reactivated": self.reactivated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
        }

    def audit_details(self) -> dict[str, Any]:
        """Counts, the file's hash and how it was read: never a cell."""
        return {
            **self.counts(),
            "file_sha256": self.sha256,
            "encoding": self.encoding,
            "key": self.key,
            "deactivate_missing": self.deactivate_missing,
            "fields": sorted(self.columns),
            "extra_columns": len(self.extra_columns),
        }


def import_limits() -> tuple[int, int]:
    """(most bytes, most data rows) one import takes."""
    return (
        int(getattr(settings, "DIRECTORY_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)),
        int(getattr(settings, "DIRECTORY_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
    )


def directory_import(
    *,
    data: bytes,
    actor: Actor,
    deactivate_missing: bool = False,
    dry_run: bool = False,
    expect_sha256: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a staff CSV, all or nothing; return the report (never raises for bad input).

    ``expect_sha256`` lets a console apply exactly the file it previewed. ``progress`` is
    called with ("read", rows) every 10,000 rows and ("write", rows) before writing. Raises
    ``PermissionDenied`` for a staff user without ``directory.import_staffmember``.
    """
    _authorise(actor, "import_staffmember")
    report = ImportReport(
        dry_run=dry_run,
        deactivate_missing=deactivate_missing,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    if expect_sha256 is not None and expect_sha256 != report.sha256:
        return _refuse(report, "changed", _("The file is not the one that was checked."))
    max_bytes, max_rows = import_limits()
    read = (lambda rows: progress("read", rows)) if progress else None
    try:
        staff_file = csvio.read_staff_csv(
            data, max_bytes=max_bytes, max_rows=max_rows, progress=read
        )
    except FileRefused as exc:
        return _refuse(report, exc.code, exc.message)
    _describe(report, staff_file)
    for _attempt in range(ATTEMPTS):
        plan = importing.make_plan(staff_file, deactivate_missing=deactivate_missing)
        _count(report, plan)
        if report.errors or dry_run:
            report.status = "refused" if report.errors else "checked"
            return report
        if progress:
            progress("write", len(plan.creates) + len(plan.updates))
        writes = importing.prepare_writes(plan)  # encryption before the transaction
        try:
            with transaction.atomic():
                importing.write(writes)
                report.import_id = _record(report, actor=actor)
        except (importing.Stale, IntegrityError):
            continue  # changed meanwhile: plan again against what is there now
        report.status = "applied"
        return report
    return _refuse(
        report, "busy", _("The staff directory kept changing during the import. Try again.")
    )


def _authorise(actor: Actor, permission: str) -> None:
    if actor.kind == AuditEvent.ActorKind.RESIDENT:
        raise PermissionDenied
    if actor.kind == AuditEvent.ActorKind.STAFF and not (
        actor.user is not None and actor.user.has_perm("directory." + permission)
    ):
        raise PermissionDenied


def _refuse(report: ImportReport, code: str, message: str) -> ImportReport:
    report.status, report.problem = "refused", FileProblem(code, message)
    return report


def _record(report: ImportReport, *, actor: Actor) -> int:
    record = DirectoryImport.objects.create(
        actor_kind=actor.kind,
        actor_user=actor.user,
        file_sha256=report.sha256,
        encoding=report.encoding,
        key=report.key,
        deactivate_missing=report.deactivate_missing,
        counts=report.counts(),
    )
    audit_record(
        actor=actor, action="directory.import", target=record, details=report.audit_details()
    )
    return record.pk


def _describe(report: ImportReport, staff_file: StaffFile) -> None:
    report.encoding, report.key = staff_file.encoding, staff_file.key
    report.columns, report.extra_columns = staff_file.columns, staff_file.extra_columns
    report.rows = staff_file.data_rows


def _count(report: ImportReport, plan: importing.Plan) -> None:
    report.errors = plan.errors
    report.created = len(plan.creates)
    report.reactivated = plan.reactivated
    report.updated = len(plan.updates) - plan.reactivated
    report.unchanged = plan.unchanged
    report.deactivated = len(plan.deactivate)


# --- Export ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportProblem:
    line: int
    staff_id: str
    column: str
    character: str  # "U+20BB7 𠮷"


class ExportRefused(Exception):
    """The export cannot be written in the chosen encoding; nothing was exported."""

    def __init__(self, message: str, problems: list[ExportProblem]) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems


def directory_export(*, actor: Actor, encoding: str) -> bytes:
    """The active staff as CSV bytes (UTF-8 with BOM, or CP932), ready for re-import.

    Formula-like cells are neutralised (see :mod:`anshin.directory.csvio`). Raises
    :class:`ExportRefused` listing every cell CP932 cannot hold, and ``PermissionDenied`` for a
    staff user without ``directory.export_staffmember``. The export is audited (counts only).
    """
    _authorise(actor, "export_staffmember")
    members = list(
        StaffMember.objects.filter(active=True).order_by(F("staff_id").asc(nulls_last=True), "pk")
    )
    extra_columns = list(dict.fromkeys(key for m in members for key in m.extra))
    header = [csvio.EXPORT_HEADERS[name] for name in csvio.FIELDS] + extra_columns
    table = [header] + [_export_row(member, extra_columns) for member in members]
    try:
        data = csvio.write_csv(table, encoding=encoding)
    except csvio.Unencodable as exc:
        raise _export_refused(exc, table) from None
    details = {"rows": len(members), "encoding": encoding, "bytes": len(data)}
    with transaction.atomic():
        audit_record(actor=actor, action="directory.export", details=details)
    return data


def _export_row(member: StaffMember, extra_columns: list[str]) -> list[str]:
    phone = member.phone
    values = {
        "staff_id": member.staff_id or "",
        "name": member.name,
        "email": member.email,
        "phone": national_format(phone) if phone else "",
        **{name: getattr(member, name) for name in ATTRIBUTE_FIELDS},
    }
    return [values[name] for name in csvio.FIELDS] + [
        str(member.extra.get(key, "")) for key in extra_columns
    ]


def _export_refused(exc: csvio.Unencodable, table: list[list[str]]) -> ExportRefused:
    staff_id_column = csvio.FIELDS.index("staff_id")
    problems = [
        ExportProblem(
            line=cell.line,
            staff_id=table[cell.line - 1][staff_id_column],
            column=table[0][cell.column],
            character=f"U+{ord(cell.character):04X} {cell.character}",
        )
        for cell in exc.cells
    ]
    codes = Counter(problem.character for problem in problems)
    message = _(
        "%(cells)d cells hold characters that CP932 (Shift_JIS) cannot encode "
        "(%(characters)s). Export as UTF-8 instead, or change those characters."
    ) % {"cells": len(problems), "characters": ", ".join(codes)}
    return ExportRefused(message, problems)
