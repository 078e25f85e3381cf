"""`anshin certificates verify FILE [--public-key KEY]`: check a deletion certificate's
signature. Exit 0 with a summary of what it certifies; exit 1 with a plain reason when the
file is forged, altered, unsigned or unreadable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from anshin.governance import signing
from anshin.governance.services import certificate_lines
from anshin.governance.verify import MAX_BYTES, NotVerified, certificate_verify

EXIT_INVALID = 1


class Command(BaseCommand):
    help = "Deletion certificates: `anshin certificates verify FILE` checks a signature."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        verify = sub.add_parser(
            "verify",
            help="Check a deletion certificate (PDF) against the public key.",
            description=(
                "Exit 0 and print what the certificate certifies when its signature matches; "
                "exit 1 when it does not."
            ),
        )
        verify.add_argument("file", help="The certificate PDF.")
        verify.add_argument(
            "--public-key",
            default="",
            help="The public key (PEM text, a PEM file, or 32 bytes in base64 or hex); "
            "default: this deployment's own key.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        key = self._key(options["public_key"])
        try:
            verified = certificate_verify(self._read(options["file"]), key)
        except NotVerified as error:
            raise CommandError(str(error), returncode=EXIT_INVALID) from None
        self.stdout.write(
            _("The signature is valid (public key SHA-256 %(fp)s).") % {"fp": verified.fingerprint}
        )
        for label, value in certificate_lines(verified.content):
            self.stdout.write(f"{label}: {value}")

    def _read(self, name: str) -> bytes:
        path = Path(name)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise CommandError(_("The file is too large to be a certificate."), returncode=1)
            return path.read_bytes()
        except OSError:
            raise CommandError(_("The file cannot be read."), returncode=EXIT_INVALID) from None

    def _key(self, given: str) -> Ed25519PublicKey:
        try:
            if not given:
                return signing.public_key()
            text = given
            if not given.lstrip().startswith("-----BEGIN") and len(given) < 4096:
                path = Path(given)
                if path.is_file() and path.stat().st_size < 64 * 1024:
                    text = path.read_text(errors="replace")
            return signing.load_public_key(text)
        except (signing.SigningKeyError, OSError, ValueError):
            raise CommandError(
                _("The public key cannot be read: give a PEM key or 32 bytes in base64 or hex."),
                returncode=EXIT_INVALID,
            ) from None
