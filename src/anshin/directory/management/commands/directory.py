"""`anshin directory import FILE [--dry-run] [--deactivate-missing]` and
`anshin directory export FILE [--encoding cp932|utf-8]`.

Thin: reads or writes the file, calls :mod:`anshin.directory.services`, prints the report.
Nothing printed names a person, an address or a phone number: rows are named by line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from anshin.core.audit import OPERATOR
from anshin.directory.csvio import PROGRESS_EVERY, RowError
from anshin.directory.selectors import active_staff_count
from anshin.directory.services import (
    ExportRefused,
    ImportReport,
    directory_export,
    directory_import,
    import_limits,
)

REPORT_LIMIT = 100
#: Exit status when rows have errors (or cells cannot be encoded): nothing was written.
EXIT_ROWS = 1
#: Exit status when the file cannot be used at all: nothing was written.
EXIT_UNUSABLE = 2

IMPORT_DESCRIPTION = """\
Import the staff directory (職員名簿) from a CSV file, all or nothing.

The first row names the columns, in Japanese or English: 職員番号/staff_id, 氏名/name,
メールアドレス/email (required), 電話番号/phone, 所属/department, 役職/position, 班/team,
居住地域/area, 参集グループ/oncall_group; any other column is kept as an attribute under its
name. UTF-8 (with or without BOM) or CP932 (Excel's Shift_JIS).

Rows are matched to staff already registered by staff number when the file has that column,
else by e-mail address. If any row has an error, nothing is imported and every error is listed
by line number.

Exit status:
  0  imported (or, with --dry-run, the file is fine)
  1  some rows have errors; nothing was imported
  2  the file cannot be used at all; nothing was imported
"""


class Command(BaseCommand):
    help = "Staff directory for scripts: `anshin directory import FILE` and `… export FILE`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        command = sub.add_parser(
            "import",
            help="Import staff from a CSV file (all or nothing).",
            description=IMPORT_DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_argument("file", type=Path, help="the CSV file")
        command.add_argument(
            "--dry-run", action="store_true", help="check the file and report; write nothing"
        )
        command.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="deactivate active staff who are not in the file (staff who left)",
        )
        export = sub.add_parser("export", help="Write the active staff to a CSV file.")
        export.add_argument("file", type=Path, help="where to write (created with mode 0600)")
        export.add_argument("--encoding", choices=("utf-8", "cp932"), default="utf-8")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "export":
            self._export(options["file"], options["encoding"])
        else:
            self._import(options["file"], options["dry_run"], options["deactivate_missing"])

    # --- import ------------------------------------------------------------------------

    def _import(self, path: Path, dry_run: bool, deactivate_missing: bool) -> None:
        max_bytes, _rows = import_limits()
        data = self._read(path, max_bytes + 1)  # one byte over is enough to refuse
        report = directory_import(
            data=data,
            actor=OPERATOR,
            deactivate_missing=deactivate_missing,
            dry_run=dry_run,
            progress=self._progress,
        )
        if report.problem is not None:
            raise CommandError(report.problem.message, returncode=EXIT_UNUSABLE)
        self._report(report)
        if report.errors:
            rows = len({error.line for error in report.errors})
            raise CommandError(
                ngettext(
                    "%(rows)d row has errors; nothing was imported.",
                    "%(rows)d rows have errors; nothing was imported.",
                    rows,
                )
                % {"rows": rows},
                returncode=EXIT_ROWS,
            )

    def _read(self, path: Path, limit: int) -> bytes:
        try:
            with path.open("rb") as handle:
                return handle.read(limit)
        except FileNotFoundError:
            raise CommandError(
                _("No such file: %(path)s") % {"path": path}, returncode=EXIT_UNUSABLE
            ) from None
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror},
                returncode=EXIT_UNUSABLE,
            ) from None

    def _progress(self, stage: str, rows: int) -> None:
        if stage == "read":
            self.stderr.write(_("read %(rows)d rows…") % {"rows": rows})
        elif rows >= PROGRESS_EVERY:
            self.stderr.write(_("writing %(rows)d staff members…") % {"rows": rows})

    def _report(self, report: ImportReport) -> None:
        write = self.stdout.write
        if report.dry_run:
            write(_("Dry run: nothing was written. These are the changes an import would make."))
        key = _("staff number") if report.key == "staff_id" else _("e-mail address")
        write(
            _("Rows: %(rows)d (encoding %(encoding)s, matched by %(key)s)")
            % {"rows": report.rows, "encoding": report.encoding, "key": key}
        )
        if report.extra_columns:
            write(_("Further columns: %(names)s") % {"names": ", ".join(report.extra_columns)})
        for label, count in (
            (_("created"), report.created),
            (_("updated"), report.updated),
            (_("reactivated (had left)"), report.reactivated),
            (_("unchanged"), report.unchanged),
            (_("deactivated (not in the file)"), report.deactivated),
        ):
            write(f"  {count:>8}  {label}")
        self._errors(report.errors)
        if report.import_id is not None:
            write(
                _("Recorded as import #%(id)d (file SHA-256 %(sha256)s).")
                % {"id": report.import_id, "sha256": report.sha256}
            )

    def _errors(self, errors: list[RowError]) -> None:
        if not errors:
            return
        shown = errors[:REPORT_LIMIT]
        self.stdout.write(
            _("Errors (%(shown)d of %(total)d):") % {"shown": len(shown), "total": len(errors)}
        )
        for error in shown:
            self.stdout.write(
                _("  line %(line)d [%(code)s] %(message)s")
                % {"line": error.line, "code": error.code, "message": error.message}
            )

    # --- export ------------------------------------------------------------------------

    def _export(self, path: Path, encoding: str) -> None:
        # The file is opened first, so an unwritable path fails before anything is exported.
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise CommandError(
                _("Cannot write %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror},
                returncode=EXIT_UNUSABLE,
            ) from None
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(self._export_bytes(encoding))
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
        self.stdout.write(
            _("Wrote %(rows)d staff members to %(path)s (%(encoding)s).")
            % {"rows": active_staff_count(), "path": path, "encoding": encoding}
        )

    def _export_bytes(self, encoding: str) -> bytes:
        try:
            return directory_export(actor=OPERATOR, encoding=encoding)
        except ExportRefused as exc:
            for problem in exc.problems[:REPORT_LIMIT]:
                self.stdout.write(
                    _("  line %(line)d (staff number %(staff_id)s), %(column)s: %(character)s")
                    % {
                        "line": problem.line,
                        "staff_id": problem.staff_id or "-",
                        "column": problem.column,
                        "character": problem.character,
                    }
                )
            raise CommandError(exc.message, returncode=EXIT_ROWS) from None
