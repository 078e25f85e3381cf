"""`anshin residents import FILE --basis TEXT [--notify]`: bulk import of residents who consented
elsewhere, optionally with a migration notice mail to each resident it makes active.

Thin: reads the file, calls :func:`anshin.residents.importing.residents_import`, prints the
report. Nothing it prints contains an address: rows are named by line number.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from anshin.core.audit import OPERATOR
from anshin.residents.importing import (
    CsvText,
    ImportAborted,
    ImportResult,
    RowProblem,
    clean_basis,
    decode_csv,
)
from anshin.residents.migration import MigrationOutcome, migration_import

REPORT_LIMIT = 50
PROGRESS_EVERY = 10_000
#: Exit status when the file (or --basis) cannot be used at all; nothing was written.
EXIT_UNUSABLE = 2
#: Exit status when rows had errors under --strict, or no row at all could be imported.
EXIT_ROWS = 1

IMPORT_DESCRIPTION = """\
Import residents who consented elsewhere (e.g. the old mail system) as active subscribers.

FILE is a CSV of two columns, e-mail address and categories, categories separated by ; or |
(e.g. taro@example.jp,bousai;bouhan). UTF-8 (with or without BOM) or CP932 (Excel's Shift_JIS);
a header row (email,categories or メールアドレス,配信区分) is optional.

Addresses already subscribed are left as they are; addresses that unsubscribed are NOT
subscribed again; waiting (unconfirmed) sign-ups become active. An address listed twice is
imported once with the categories of both rows.

Exit status:
  0  imported; rows with errors (if any) were skipped and are listed by line number
  1  --strict and some rows had errors (then nothing is imported), or no row was valid
  2  the file or --basis cannot be used at all (nothing is imported)
"""


class Command(BaseCommand):
    help = "Resident operations for scripts: `anshin residents import FILE --basis TEXT`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        command = sub.add_parser(
            "import",
            help="Import consented residents from a CSV file.",
            description=IMPORT_DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_argument("file", type=Path, help="the CSV file")
        command.add_argument(
            "--basis",
            required=True,
            help="why these residents may be mailed, recorded on each subscriber "
            "(one line, at most 200 characters), e.g. 'migrated from the old system, 2017-03-01'",
        )
        command.add_argument(
            "--dry-run", action="store_true", help="check the file and report; write nothing"
        )
        command.add_argument(
            "--notify",
            action="store_true",
            help="send each resident this import makes active a personal notice mail (what "
            "changed, how to manage or leave), on the bulk queue behind alerts; residents "
            "already notified by an earlier import are not notified again",
        )
        command.add_argument(
            "--strict",
            action="store_true",
            help="if any row has an error, import nothing and exit with status 1",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            basis = clean_basis(options["basis"])
            csv_text = decode_csv(self._read(options["file"]))
            if options["strict"] and not options["dry_run"]:
                self._refuse_any_bad_row(csv_text, basis)
            outcome = self._run(
                csv_text, basis, dry_run=options["dry_run"], notify=options["notify"]
            )
        except ImportAborted as exc:
            raise CommandError(exc.message, returncode=EXIT_UNUSABLE) from None
        result = outcome.result
        self._report(result, csv_text)
        if outcome.record is not None and outcome.record.notify:
            self.stdout.write(
                _("Migration notices queued: %(count)d (import #%(id)d)")
                % {"count": outcome.record.notices, "id": outcome.record.pk}
            )
        if not result.valid_rows:
            raise CommandError(_("No row could be imported."), returncode=EXIT_ROWS)

    def _refuse_any_bad_row(self, csv_text: CsvText, basis: str) -> None:
        """--strict: check the whole file first (row errors depend on the file alone)."""
        checked = self._run(csv_text, basis, dry_run=True, notify=False).result
        if checked.errors:
            self._report(checked, csv_text)
            raise CommandError(
                _("%(count)d rows have errors; nothing was imported (--strict).")
                % {"count": len(checked.errors)},
                returncode=EXIT_ROWS,
            )

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise CommandError(
                _("No such file: %(path)s") % {"path": path}, returncode=EXIT_UNUSABLE
            ) from None
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": exc.strerror},
                returncode=EXIT_UNUSABLE,
            ) from None

    def _run(
        self, csv_text: CsvText, basis: str, *, dry_run: bool, notify: bool
    ) -> MigrationOutcome:
        message = _("checked %(rows)d rows…") if dry_run else _("imported %(rows)d rows…")
        reported = 0

        def progress(rows: int) -> None:
            nonlocal reported
            if rows - reported >= PROGRESS_EVERY:
                reported = rows - rows % PROGRESS_EVERY
                self.stderr.write(message % {"rows": reported})

        return migration_import(
            lines=csv_text.lines(),
            basis=basis,
            actor=OPERATOR,
            notify=notify,
            dry_run=dry_run,
            progress=progress,
        )

    def _report(self, result: ImportResult, csv_text: CsvText) -> None:
        write = self.stdout.write
        if result.dry_run:
            write(_("Dry run: nothing was written. These are the counts an import would give."))
        header = _("yes") if result.header else _("no")
        write(
            _("Rows: %(rows)d (encoding %(encoding)s, header row: %(header)s)")
            % {"rows": result.rows, "encoding": csv_text.encoding, "header": header}
        )
        for label, count in (
            (_("created"), result.created),
            (_("activated (were waiting for confirmation)"), result.activated),
            (_("already subscribed, left as they are"), result.already_subscribed),
            (_("unsubscribed, not re-added"), result.unsubscribed_not_readded),
            (_("duplicates in the file"), len(result.duplicates_in_file)),
            (_("rows with errors, skipped"), len(result.errors)),
        ):
            write(f"  {count:>8}  {label}")
        write(_("Consent basis recorded: %(basis)s") % {"basis": result.basis})
        self._list(_("Rows with errors"), result.errors)
        self._list(_("Duplicates"), result.duplicates_in_file)

    def _list(self, title: str, problems: list[RowProblem]) -> None:
        if not problems:
            return
        shown = problems[:REPORT_LIMIT]
        self.stdout.write(
            _("%(title)s (%(shown)d of %(total)d):")
            % {"title": title, "shown": len(shown), "total": len(problems)}
        )
        for problem in shown:
            self.stdout.write(
                _("  line %(line)d [%(code)s] %(message)s")
                % {"line": problem.line, "code": problem.code, "message": problem.message}
            )
