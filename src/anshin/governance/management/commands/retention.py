"""`anshin retention purge [--dry-run]`: remove the data whose retention period has passed,
now, and issue the deletion certificates (the scheduler does the same each night)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from anshin.core.audit import OPERATOR
from anshin.governance.pdf import FontMissing
from anshin.governance.retention import kind_named
from anshin.governance.services import retention_preview, retention_purge


class Command(BaseCommand):
    help = "Retention: `anshin retention purge` removes data kept past its period."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        purge = sub.add_parser(
            "purge",
            help="Remove data past its retention period and issue deletion certificates.",
            description="Remove data past its retention period, per kind, in batches.",
        )
        purge.add_argument(
            "--dry-run", action="store_true", help="Count what would be removed; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dry_run"]:
            self._print(retention_preview(), _("%(kind)s: %(count)s would be removed"))
            return
        try:
            counts = retention_purge(actor=OPERATOR)
        except FontMissing as error:
            raise CommandError(
                _("The data was removed, but the certificates could not be made: %(why)s")
                % {"why": error},
                returncode=1,
            ) from None
        self._print(counts, _("%(kind)s: %(count)s removed"))

    def _print(self, counts: dict[str, int], text: str) -> None:
        for slug, count in counts.items():
            self.stdout.write(text % {"kind": kind_named(slug).label, "count": count})
