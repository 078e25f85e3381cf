"""`anshin audit verify`: walk the audit log's hash chain and name the first entry that does not
follow. Exit 0 and the chain head (to copy into a report kept outside the database) when the
chain is whole; exit 1 and the entry's number when it is not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from anshin.core.audit import ChainReport, audit_verify

EXIT_BROKEN = 1


def _problem_text(report: ChainReport) -> str:
    texts = {
        "altered": _("entry #%(seq)s was altered after it was written"),
        "removed": _("entry #%(seq)s is missing (removed)"),
        "reordered": _(
            "entry #%(seq)s does not follow the entry before it (reordered or replaced)"
        ),
        "truncated": _(
            "the log ends before entry #%(seq)s that the chain head records (truncated)"
        ),
    }
    return texts[report.problem] % {"seq": report.broken_at}


class Command(BaseCommand):
    help = "Audit log operations: `anshin audit verify` checks the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser(
            "verify",
            help="Check that no audit entry was altered, removed or reordered.",
            description=(
                "Walk the audit log's hash chain from the first entry. Exit 0 and print the "
                "chain head when it is whole; exit 1 naming the first entry that is not."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify()
        if not report.ok:
            intact = ngettext(
                "%(count)s entry before it is intact.",
                "%(count)s entries before it are intact.",
                report.checked,
            ) % {"count": report.checked}
            raise CommandError(
                _("The audit log is broken: %(problem)s.") % {"problem": _problem_text(report)}
                + " "
                + intact,
                returncode=EXIT_BROKEN,
            )
        self.stdout.write(
            _("The audit log is intact: %(count)s entries. Chain head: #%(seq)s %(hash)s")
            % {"count": report.checked, "seq": report.head_seq, "hash": report.head_hash}
        )
        if report.start_seq > 1:
            self.stdout.write(
                _(
                    "Entries before #%(seq)s were purged after their retention period; the "
                    "checkpoint that replaced them holds the last one's hash."
                )
                % {"seq": report.start_seq}
            )
