"""API keys: creation (the secret shown once), revocation, and checking a presented key.

A key reads ``anshin_<prefix>_<secret>``. The prefix is public and finds the row; the secret
(256 random bits) is stored only as its SHA-256. A keyed or slow hash adds nothing for a
secret that cannot be guessed, and would tie every key to a key that may be rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.alerts.models import Category
from anshin.api.models import ApiKey
from anshin.core.audit import Actor, audit_record

KEY_PREFIX = "anshin"
NAME_MAX = 80
# last_used_at is written at most this often per key: a busy integration must not turn every
# read into a write (SQLite has one writer).
TOUCH_INTERVAL = timedelta(seconds=60)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(
    *,
    actor: Actor,
    name: str,
    categories: Iterable[Category],
    can_read: bool,
    can_send: bool,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its full secret, which is never shown again."""
    name, categories = name.strip(), list(categories)
    _check_new_key(name, categories, can_read, can_send)
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            name=name,
            prefix=prefix,
            secret_hash=_digest(secret),
            can_read=can_read,
            can_send=can_send,
            created_by=actor.user,
        )
        key.categories.set(categories)
        audit_record(actor=actor, action="api_key.create", target=key, details=_scope(key))
    return key, f"{KEY_PREFIX}_{prefix}_{secret}"


def _check_new_key(name: str, categories: list[Category], can_read: bool, can_send: bool) -> None:
    if not name or len(name) > NAME_MAX or any(ch < " " or ch == "\x7f" for ch in name):
        raise ValidationError(
            _("Give the key a name of one line (at most %(max)d characters).") % {"max": NAME_MAX},
            code="name",
        )
    if not categories:
        raise ValidationError(_("Choose at least one category."), code="categories")
    if not (can_read or can_send):
        raise ValidationError(_("Allow reading, sending or both."), code="scope")


def _scope(key: ApiKey) -> dict[str, object]:
    slugs = sorted(key.categories.values_list("slug", flat=True))
    return {"categories": slugs, "read": key.can_read, "send": key.can_send}


def api_key_revoke(*, actor: Actor, key: ApiKey) -> bool:
    """Revoke a key at once; False when it already was (nothing is recorded twice)."""
    with transaction.atomic():
        revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if revoked:
            audit_record(actor=actor, action="api_key.revoke", target=key)
    key.refresh_from_db()
    return bool(revoked)


def api_key_authenticate(presented: str) -> ApiKey | None:
    """The active key matching the presented string, or None. The secret is compared in
    constant time; a malformed string never reaches the database."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(presented) > 200:
        return None
    key = ApiKey.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(parts[2])):
        return None
    _touch(key)
    return key


def _touch(key: ApiKey) -> None:
    now = timezone.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_INTERVAL)
    ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)


def api_keys_all() -> QuerySet[ApiKey]:
    return ApiKey.objects.prefetch_related("categories").select_related("created_by")
