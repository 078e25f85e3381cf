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

import hmac
import re
from collections.abc import Callable
from typing import Literal

from django.conf import settings

from anshin.core.crypto import salted_hmac_fast

__all__ = ["Kind", "looks_like_verp", "parse_verp", "verp_address", "verp_sender"]

Kind = Literal["m", "n", "c"]
_KINDS = ("m", "n", "c")

_SALT = "anshin.delivery.verp"
_PREFIX = "bounce+"
_MAC_BYTES = 8
_TOKEN_RE = re.compile(r"([mnc])([1-9][0-9]{0,18})-([a-z2-7]{13})", re.ASCII)


def verp_address(kind: Kind, pk: int) -> str:
    """The envelope sender for the mail stored as row `pk` of `kind`."""
    return verp_sender(kind)(pk)


def verp_sender(kind: Kind) -> Callable[[int], str]:
    """`verp_address` of one kind for many rows, with the settings read once (a batch)."""
    if kind not in _KINDS:
        raise ValueError("VERP needs kind 'm', 'n' or 'c' and a positive id.")
    secret, domain = settings.SECRET_KEY, _domain()

    def address(pk: int) -> str:
        if pk <= 0:
            raise ValueError("VERP needs kind 'm', 'n' or 'c' and a positive id.")
        return f"{_PREFIX}{kind}{pk}-{_mac(kind, pk, secret)}@{domain}"

    return address


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
    return _base32(digest[:_MAC_BYTES])


_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648 base32, in lower case
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # every 10 bits as two letters


def _base32(eight: bytes) -> str:
    """`base64.b32encode(eight).decode().rstrip("=").lower()` for 8 bytes, ten bits a step:
    the stdlib's version, written in Python, cost as much as the MAC itself."""
    n = int.from_bytes(eight, "big") << 1  # 65 bits: 13 letters of 5
    pairs = _PAIRS
    return (
        pairs[n >> 55]
        + pairs[(n >> 45) & 1023]
        + pairs[(n >> 35) & 1023]
        + pairs[(n >> 25) & 1023]
        + pairs[(n >> 15) & 1023]
        + pairs[(n >> 5) & 1023]
        + _ALPHABET[n & 31]
    )


def _domain() -> str:
    return str(settings.BOUNCE_DOMAIN).lower().rstrip(".")
