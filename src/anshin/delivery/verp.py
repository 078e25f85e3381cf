"""VERP return paths: each mail goes out with its own envelope sender,
`bounce+<token>@<ANSHIN_BOUNCE_DOMAIN>`, so a bounce names the row it is about without us
having to trust (or even read) the address inside it.

The token is `<kind><id>-<mac>`: kind `m` (alert Message), `n` (Notification) or `c` (a staff
call-out's mail, anshin.directory's CalloutSend), the row id
in decimal, and a 64-bit HMAC of both, base32 in lower case. Only lower-case letters, digits
and `-`, so it survives MTAs that fold the case of local parts, and at most 34 characters.
Without the MAC anyone could send "bounces" for made-up ids and suppress other residents.
The MAC is keyed from SECRET_KEY (Django's `salted_hmac`, which also accepts
SECRET_KEY_FALLBACKS, so a key rotation does not orphan bounces still on their way).
"""

from __future__ import annotations

import base64
import hmac
import re
from typing import Literal

from django.conf import settings

from anshin.core.crypto import salted_hmac_fast

__all__ = ["Kind", "looks_like_verp", "parse_verp", "verp_address"]

Kind = Literal["m", "n", "c"]
_KINDS = ("m", "n", "c")

_SALT = "anshin.delivery.verp"
_PREFIX = "bounce+"
_MAC_BYTES = 8
_TOKEN_RE = re.compile(r"([mnc])([1-9][0-9]{0,18})-([a-z2-7]{13})", re.ASCII)


def verp_address(kind: Kind, pk: int) -> str:
    """The envelope sender for the mail stored as row `pk` of `kind`."""
    if kind not in _KINDS or pk <= 0:
        raise ValueError("VERP needs kind 'm', 'n' or 'c' and a positive id.")
    return f"{_PREFIX}{kind}{pk}-{_mac(kind, pk, settings.SECRET_KEY)}@{_domain()}"


def parse_verp(recipient: str) -> tuple[str, int] | None:
    """(kind, id) if `recipient` is one of our VERP addresses with a valid MAC, else None."""
    match = _match(recipient)
    if match is None:
        return None
    kind, pk, mac = match.group(1), int(match.group(2)), match.group(3)
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if any(hmac.compare_digest(mac, _mac(kind, pk, key)) for key in keys):
        return kind, pk
    return None


def looks_like_verp(recipient: str) -> bool:
    """True if `recipient` has the shape of our VERP address, whether or not its MAC is valid
    (to tell a forged token from mail that is no bounce at all)."""
    return _match(recipient) is not None


def _match(recipient: str) -> re.Match[str] | None:
    if len(recipient) > 300:
        return None
    local, at, domain = recipient.strip().strip("<>").rpartition("@")
    local = local.lower()
    if not at or domain.lower().rstrip(".") != _domain() or not local.startswith(_PREFIX):
        return None
    return _TOKEN_RE.fullmatch(local[len(_PREFIX) :])


def _mac(kind: str, pk: int, secret: str) -> str:
    digest = salted_hmac_fast(_SALT, f"{kind}{pk}", secret)
    return base64.b32encode(digest[:_MAC_BYTES]).decode("ascii").rstrip("=").lower()


def _domain() -> str:
    return str(settings.BOUNCE_DOMAIN).lower().rstrip(".")
