"""Short reply links: ``ANSHIN_BASE_URL/r/<token>``, the token 11 URL-safe characters (64 bits).

A Japanese SMS segment holds 70 characters, so a signed token (50+ characters) will not do. The
token is derived, with a key only the application holds (the keyed look-up hash of
:mod:`anshin.core.crypto`, under its own label), from a random nonce stored on the recipient
row; the row also keeps a keyed hash of the token, which is how a link finds its row. So the
database holds no token: a dump opens no reply page, while the sender can render the same
link again for a reminder from the row alone. Guessing is infeasible: 2^64 tokens against the
few thousand a city has out at once.
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Final

from django.conf import settings
from django.urls import reverse

from anshin.core import crypto

TOKEN_RE: Final = re.compile(r"[A-Za-z0-9_-]{11}")
_TOKEN_LABEL: Final = "directory.callout.token:"  # noqa: S105 — a label, not a secret
_HASH_LABEL: Final = "directory.callout.reply:"


def new_nonce() -> str:
    return secrets.token_hex(16)


def token_for(nonce: str) -> str:
    digest = bytes.fromhex(crypto.lookup_hash(_TOKEN_LABEL + nonce))
    return base64.urlsafe_b64encode(digest[:8]).decode("ascii").rstrip("=")


def token_hash(token: str) -> str:
    return crypto.lookup_hash(_HASH_LABEL + token)


def well_formed(token: str) -> bool:
    return TOKEN_RE.fullmatch(token) is not None


def reply_url(nonce: str) -> str:
    return settings.BASE_URL + reverse("directory:reply", args=[token_for(nonce)])
