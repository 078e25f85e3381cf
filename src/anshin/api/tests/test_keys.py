"""API keys: the secret exists only in the creator's hands; revocation is immediate."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from anshin.alerts.models import Category
from anshin.api.keys import api_key_authenticate, api_key_create, api_key_revoke
from anshin.api.models import ApiKey
from anshin.core.audit import OPERATOR
from anshin.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_created_key_is_stored_only_as_prefix_and_hash(make_key: Any) -> None:
    key, secret = make_key("bousai", "bouhan", send=True)
    head, prefix, rest = secret.split("_", 2)
    assert (head, prefix) == ("anshin", key.prefix)
    assert len(rest) >= 43  # 256 random bits
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert rest not in str(stored)
    assert stored["secret_hash"] == hashlib.sha256(rest.encode()).hexdigest()
    event = AuditEvent.objects.get(action="api_key.create")
    assert event.target_id == str(key.pk)
    assert event.details == {"categories": ["bouhan", "bousai"], "read": True, "send": True}
    assert rest not in str(event.details)


def test_two_keys_never_share_prefix_or_secret(make_key: Any) -> None:
    (_, first), (_, second) = make_key(), make_key()
    assert first.split("_")[1] != second.split("_")[1]
    assert first != second


def test_authenticate_accepts_only_the_exact_active_key(make_key: Any) -> None:
    key, secret = make_key()
    assert api_key_authenticate(secret) == key
    for wrong in (secret + "x", secret[:-1], secret.upper(), "anshin__" + secret, "", "anshin"):
        assert api_key_authenticate(wrong) is None, wrong
    other_key, other = make_key()
    swapped = f"anshin_{key.prefix}_{other.split('_', 2)[2]}"
    assert api_key_authenticate(swapped) is None


def test_revoked_key_no_longer_authenticates_and_revoke_is_audited_once(make_key: Any) -> None:
    key, secret = make_key()
    assert api_key_revoke(actor=OPERATOR, key=key) is True
    assert api_key_revoke(actor=OPERATOR, key=key) is False
    assert key.revoked_at is not None
    assert api_key_authenticate(secret) is None
    assert AuditEvent.objects.filter(action="api_key.revoke", target_id=str(key.pk)).count() == 1


@pytest.mark.parametrize(
    ("name", "slugs", "read", "send"),
    [
        ("", ["bousai"], True, False),
        ("x" * 81, ["bousai"], True, False),
        ("two\nlines", ["bousai"], True, False),
        ("no categories", [], True, False),
        ("no scope", ["bousai"], False, False),
    ],
)
def test_invalid_key_requests_create_nothing(
    categories: dict[str, Category], name: str, slugs: list[str], read: bool, send: bool
) -> None:
    with pytest.raises(ValidationError):
        api_key_create(
            actor=OPERATOR,
            name=name,
            categories=[categories[s] for s in slugs],
            can_read=read,
            can_send=send,
        )
    assert ApiKey.objects.count() == 0
    assert not AuditEvent.objects.filter(action="api_key.create").exists()
