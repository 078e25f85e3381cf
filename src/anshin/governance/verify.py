"""Checking a certificate file: the signed content embedded in the PDF against a public key.

Only the embedded content is signed, so it is what a verification vouches for: the command
prints it, and the printed page must say the same.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.utils.translation import gettext as _

from anshin.governance import pdf, signing

MAX_BYTES = 20 * 1024 * 1024


class NotVerified(ValueError):
    """Why a file is not a valid certificate, in plain words (shown as is)."""


@dataclass(frozen=True)
class Verified:
    content: dict[str, Any]
    fingerprint: str


def certificate_verify(data: bytes, key: Ed25519PublicKey) -> Verified:
    if len(data) > MAX_BYTES or not data.startswith(b"%PDF-"):
        raise NotVerified(_("This is not a PDF file, so it is not an anshin certificate."))
    payloads = pdf.find_payloads(data)
    if not payloads:
        raise NotVerified(_("This PDF carries no anshin signature: it is not signed."))
    if len(payloads) > 1:
        raise NotVerified(_("This PDF carries more than one signed content: it was altered."))
    content_b64, signature_b64 = payloads[0]
    try:
        payload, signature = signing.unb64(content_b64), signing.unb64(signature_b64)
    except (binascii.Error, ValueError):
        raise NotVerified(_("The embedded signature is damaged: the file was altered.")) from None
    if not signing.signature_valid(key, payload, signature):
        raise NotVerified(
            _(
                "The signature does not match the public key: the certificate was altered, "
                "or it was not issued with this key."
            )
        )
    return Verified(content=_parse(payload), fingerprint=signing.fingerprint(key))


def _parse(payload: bytes) -> dict[str, Any]:
    try:
        content = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        content = None
    if not isinstance(content, dict) or signing.canonical(content) != payload:
        raise NotVerified(_("The signed content is not a certificate anshin issues."))
    return content
