"""Signed tokens for the links in resident mail.

Confirmation tokens expire (72 h) and die once used: they carry a nonce that confirmation
clears. Management tokens do not expire (every alert mail carries one) but die when the
subscriber's `token_key` changes, which happens on every (re-)confirmation. Tokens carry only
a row id and a random value — never the address.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from django.conf import settings
from django.core import signing

from anshin.core.crypto import salted_hmac_fast
from anshin.residents.models import Subscriber

_CONFIRM_SALT = "anshin.residents.confirm"
_MANAGE_SALT = "anshin.residents.manage"
_RECEIPT_SALT = "anshin.residents.receipt"
_RESUME_SALT = "anshin.residents.resume"
_MAIL_REGISTER_SALT = "anshin.residents.mail-register"


class TokenOwner(Protocol):
    """What a management link is made from: a subscriber's id and token key."""

    @property
    def pk(self) -> Any: ...

    @property
    def token_key(self) -> str: ...


class TokenError(Exception):
    """The link is unknown, altered, used or expired. `reason` says which, for the page shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_confirm_token(subscriber: Subscriber, *, salt: str = _CONFIRM_SALT) -> str:
    return signing.dumps([subscriber.pk, subscriber.confirm_nonce], salt=salt, compress=True)


def make_mail_register_token(subscriber: Subscriber) -> str:
    """The empty-mail reply's link: like a confirmation link, but under its own salt, so
    neither page accepts the other's token."""
    return make_confirm_token(subscriber, salt=_MAIL_REGISTER_SALT)


def read_mail_register_token(token: str) -> tuple[int, str]:
    return read_confirm_token(token, salt=_MAIL_REGISTER_SALT)


def read_confirm_token(token: str, *, salt: str = _CONFIRM_SALT) -> tuple[int, str]:
    """Return (subscriber id, nonce) or raise TokenError("expired" | "invalid")."""
    try:
        value = signing.loads(token, salt=salt, max_age=settings.CONFIRMATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise TokenError("expired") from exc
    except signing.BadSignature as exc:
        raise TokenError("invalid") from exc
    return _pair(value)


def make_manage_token(subscriber: TokenOwner) -> str:
    """Exactly what `Signer(salt=_MANAGE_SALT).sign_object([pk, key])` gives (read back with it),
    computed with a cached key because every alert mail carries one. No timestamp: it never
    expires, so one subscriber always gets the same link."""
    return _sign_fast(_MANAGE_SALT, [subscriber.pk, subscriber.token_key])


def _sign_fast(salt: str, value: list[Any]) -> str:
    """What `Signer(salt=salt).sign_object(value)` gives, with a cached key (bulk mail)."""
    data = json.dumps(value, separators=(",", ":"))
    payload = signing.b64_encode(data.encode()).decode()
    digest = salted_hmac_fast(salt + "signer", payload, settings.SECRET_KEY)
    return f"{payload}:{signing.b64_encode(digest).decode()}"


def read_manage_token(token: str) -> Subscriber:
    """Return the subscriber the link belongs to, or raise TokenError("invalid")."""
    try:
        pk, key = _pair(signing.Signer(salt=_MANAGE_SALT).unsign_object(token))
    except signing.BadSignature as exc:
        raise TokenError("invalid") from exc
    subscriber = Subscriber.objects.filter(pk=pk, token_key=key).first()
    if subscriber is None or not key:
        raise TokenError("invalid")
    return subscriber


def make_receipt_token(subscriber: TokenOwner, check_id: int) -> str:
    """The link of one resident in one receipt check. Dies when the subscriber's token key
    changes (they left and registered again); confirming twice is harmless."""
    return _sign_fast(_RECEIPT_SALT, [subscriber.pk, subscriber.token_key, check_id])


def read_receipt_token(token: str) -> tuple[Subscriber, int]:
    """Return (subscriber, check id) or raise TokenError("invalid")."""
    try:
        value = signing.Signer(salt=_RECEIPT_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError) as exc:
        raise TokenError("invalid") from exc
    if not isinstance(value, list) or len(value) != 3 or not isinstance(value[2], int):
        raise TokenError("invalid")
    return _owner(*_pair(value[:2])), value[2]


def make_resume_token(subscriber: TokenOwner) -> str:
    return _sign_fast(_RESUME_SALT, [subscriber.pk, subscriber.token_key])


def read_resume_token(token: str) -> Subscriber:
    try:
        value = signing.Signer(salt=_RESUME_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError) as exc:
        raise TokenError("invalid") from exc
    return _owner(*_pair(value))


def _owner(pk: int, key: str) -> Subscriber:
    subscriber = Subscriber.objects.filter(pk=pk, token_key=key).first() if key else None
    if subscriber is None:
        raise TokenError("invalid")
    return subscriber


def _pair(value: object) -> tuple[int, str]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or not isinstance(value[1], str)
    ):
        raise TokenError("invalid")
    return value[0], value[1]
