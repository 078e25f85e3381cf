"""`anshin backup [--output FILE]`: the database in one archive, consistent while anshin runs.
The data key is not in it: keep (escrow) the key apart from the backups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.core.audit import OPERATOR
from anshin.core.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back the database up into one archive (safe while anshin runs; keys not included)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            help="Archive to write (default: ANSHIN_HOME/backups/anshin-<time>.tar.gz).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path = options["output"] or _default_output()
        if output.exists():
            raise CommandError(
                _("%(path)s already exists; choose another file.") % {"path": output}
            )
        if not output.parent.is_dir():
            raise CommandError(_("The folder %(path)s does not exist.") % {"path": output.parent})
        try:
            result = backup_create(actor=OPERATOR, output=output, progress=self._step)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _(
                "Backup written: %(path)s (%(size)s bytes). Data key fingerprint: %(key)s — "
                "the key itself is not in the backup; keep it apart."
            )
            % {"path": result.path, "size": result.size, "key": result.manifest["data_key_id"]}
        )

    def _step(self, step: str) -> None:
        self.stderr.write(_("… %(step)s") % {"step": step})


def _default_output() -> Path:
    folder = settings.HOME / "backups"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"anshin-{timezone.now():%Y%m%dT%H%M%SZ}.tar.gz"
