"""`anshin keys status` and `anshin keys rotate`: re-encrypt personal data under a new data key
while the system runs. How to rotate:

1. Pin the look-up key: ANSHIN_LOOKUP_KEY = the present data key (hashes never change).
2. ANSHIN_DATA_KEYS_RETIRED = the present data key; ANSHIN_DATA_KEY = a new one. Restart.
3. `anshin keys rotate`; when `anshin keys status` shows nothing left, drop the retired key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from anshin.core.audit import OPERATOR
from anshin.core.keyring import keys_rotate, keys_status


class Command(BaseCommand):
    help = "Data-key rotation: `anshin keys status`, `anshin keys rotate`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("status", help="Count the values still encrypted under a retired key.")
        sub.add_parser(
            "rotate",
            help="Re-encrypt every value under the current data key (safe while running).",
            description=__doc__,
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verb"] == "rotate":
            count = keys_rotate(actor=OPERATOR, progress=self._progress)
            self.stdout.write(
                ngettext("Re-encrypted %(count)s value.", "Re-encrypted %(count)s values.", count)
                % {"count": count}
            )
            return
        for label, (total, stale) in keys_status().items():
            self.stdout.write(
                _("%(column)s: %(stale)s of %(total)s under a retired key")
                % {"column": label, "total": total, "stale": stale}
            )

    def _progress(self, label: str, count: int) -> None:
        self.stdout.write(
            _("%(column)s: %(count)s re-encrypted") % {"column": label, "count": count}
        )
