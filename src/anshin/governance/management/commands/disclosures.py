"""`anshin disclosures decrypt FILE [--output PATH] [--passphrase-file PATH]`: open a
disclosure file with its one-time passphrase (asked for on the terminal, or read from the first
line of a file or of standard input). Needs no database and none of the city's keys, so the
recipient can run it. Exit 1 with a plain reason on a wrong passphrase or an altered file."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from anshin.governance.sealing import MAX_BYTES, SealError, unseal


class Command(BaseCommand):
    help = "Disclosure files: `anshin disclosures decrypt FILE` opens one with its passphrase."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        decrypt = sub.add_parser(
            "decrypt",
            help="Decrypt a disclosure file (.anshin) with its one-time passphrase.",
            description="Writes the JSON document inside to --output, or to standard output.",
        )
        decrypt.add_argument("file", help="The encrypted disclosure file.")
        decrypt.add_argument("--output", default="", help="Where to write the JSON document.")
        decrypt.add_argument(
            "--passphrase-file",
            default="",
            help="Read the passphrase from this file's first line instead of asking.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data = self._read(options["file"])
        try:
            document = unseal(data, self._passphrase(options["passphrase_file"]))
        except SealError as error:
            raise CommandError(str(error), returncode=1) from None
        if options["output"]:
            Path(options["output"]).write_bytes(document)
            self.stdout.write(_("Decrypted to %(path)s") % {"path": options["output"]})
        else:
            self.stdout.write(document.decode())

    def _read(self, name: str) -> bytes:
        try:
            path = Path(name)
            if path.stat().st_size > MAX_BYTES:
                raise CommandError(
                    _("The file is too large to be a disclosure file."), returncode=1
                )
            return path.read_bytes()
        except OSError:
            raise CommandError(_("The file cannot be read."), returncode=1) from None

    def _passphrase(self, source: str) -> str:
        if source:
            try:
                with open(source, encoding="utf-8", errors="replace") as handle:
                    return handle.readline(200)
            except OSError:
                raise CommandError(_("The passphrase file cannot be read."), returncode=1) from None
        if sys.stdin.isatty():
            return getpass.getpass(_("Passphrase: "))
        return sys.stdin.readline(200)
