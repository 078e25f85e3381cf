"""`anshin restore FILE [--force]`: replace the database with a backup's. Stop web, worker and
scheduler first. Refuses a damaged archive, the wrong data key, or (without --force) a
database that already holds data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from anshin.core.audit import OPERATOR
from anshin.core.backup import BackupError, backup_restore

EXIT_REFUSED = 2


class Command(BaseCommand):
    help = "Restore the database from an `anshin backup` archive (stop anshin first)."
    # The database being replaced may fail checks (another look-up key) that the backup passes;
    # the restore checks the keys against the backup itself.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--force", action="store_true", help="Replace a database that already holds data."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(
                _("%(path)s is not a file.") % {"path": path}, returncode=EXIT_REFUSED
            )
        try:
            manifest = backup_restore(actor=OPERATOR, path=path, force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc), returncode=EXIT_REFUSED) from exc
        self.stdout.write(
            _("Restored the backup made at %(time)s. anshin can be started again.")
            % {"time": manifest["created_at"]}
        )
