"""`anshin bounces import FILE...`: feed saved bounces (one .eml each, or mbox files) to the
same service the inbound listener uses, e.g. bounces collected by the relay's mailbox.

Thin: reads the files, calls :func:`anshin.delivery.bounces.bounce_ingest` for each mail and
prints counts per outcome. Nothing it prints comes from inside a mail, so no address.
"""

from __future__ import annotations

import argparse
import mailbox
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from anshin.core.audit import OPERATOR
from anshin.delivery.bounces import BounceResult, Outcome, bounce_ingest, max_bounce_bytes

IMPORT_DESCRIPTION = """\
Read bounces and spam complaints from files and record them, as if they had arrived at the
VERP return path. Each FILE is one raw mail (.eml) or an mbox (a file whose first line starts
with "From "). Hard bounces (status 5.1.x) and complaints suppress the address at once; soft
bounces when enough of them arrive within the configured days. Importing the same file twice
records nothing new.

Exit status: 0 when every file was read (whatever the mails said), 1 when a file could not be
read (the other files are still imported).
"""


class Command(BaseCommand):
    help = "Bounce operations for scripts: `anshin bounces import FILE...`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        command = sub.add_parser(
            "import",
            help="Import bounce mails from .eml or mbox files.",
            description=IMPORT_DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_argument(
            "files", nargs="+", type=Path, metavar="FILE", help="a raw mail (.eml) or an mbox"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        results: list[BounceResult] = []
        unreadable = 0
        for path in options["files"]:
            try:
                results.extend(bounce_ingest(raw=raw, actor=OPERATOR) for raw in _mails(path))
            except OSError as exc:
                unreadable += 1
                self.stderr.write(
                    _("Cannot read %(path)s: %(reason)s")
                    % {"path": path, "reason": exc.strerror or type(exc).__name__}
                )
        self._summary(results)
        if unreadable:
            raise CommandError(_("%(count)d file(s) could not be read.") % {"count": unreadable})

    def _summary(self, results: list[BounceResult]) -> None:
        counts = Counter(result.outcome for result in results)
        self.stdout.write(_("Mails read: %(count)d") % {"count": len(results)})
        for outcome in Outcome:
            if counts[outcome]:
                self.stdout.write(f"  {outcome.value}: {counts[outcome]}")
        suppressed = sum(result.suppressed for result in results)
        self.stdout.write(_("Addresses suppressed: %(count)d") % {"count": suppressed})


def _mails(path: Path) -> Iterator[bytes]:
    """The raw mails in `path`: the whole file, or each message of an mbox. A file larger than
    the intake limit is read only up to it (the service then reports it as too large)."""
    with path.open("rb") as handle:
        head = handle.read(5)
        if head != b"From ":
            yield head + handle.read(max_bounce_bytes() + 1 - len(head))
            return
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()
