"""Data-key rotation: old values stay readable under a retired key, `anshin keys rotate` moves
every one to the new key, and the look-up hashes never change (suppressions keep matching)."""

from __future__ import annotations

import base64
import os
from io import StringIO
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import call_command
from django.utils import translation

from anshin.conftest import make_subscriber
from anshin.core import crypto
from anshin.core.audit import OPERATOR
from anshin.core.keyring import (
    keys_rotate,
    keys_status,
    lookup_key_refresh,
    lookup_key_unchanged,
)
from anshin.core.models import AuditEvent, LookupKey
from anshin.directory.models import StaffMember
from anshin.directory.tests.conftest import member, run_import, staff_csv
from anshin.residents.models import Subscriber

CSV = staff_csv("0001,山田,yamada@city.example.jp,090-1234-5678,防災安全課,,,,")


def _new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _rotate_to_a_new_key(settings: Any) -> str:
    """Step 1 and 2 of the README's procedure: pin the look-up key, retire the old key."""
    old = settings.DATA_KEY
    settings.LOOKUP_KEY = old
    settings.DATA_KEYS_RETIRED = [old]
    settings.DATA_KEY = _new_key()
    return old


def test_values_name_their_key_and_decrypt(settings: Any) -> None:
    blob = crypto.encrypt("hanako@example.jp", context=b"c")
    assert crypto.blob_key_id(blob) == crypto.key_id(settings.DATA_KEY)
    assert crypto.decrypt(blob, context=b"c") == "hanako@example.jp"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(blob, context=b"another column")


def test_the_first_format_still_decrypts(settings: Any) -> None:
    nonce = os.urandom(12)
    aead = AESGCM(crypto._derive(settings.DATA_KEY, b"anshin/v1/aes-gcm"))
    legacy = b"\x01" + nonce + aead.encrypt(nonce, "旧形式".encode(), b"c")
    assert crypto.blob_key_id(legacy) is None
    assert crypto.decrypt(legacy, context=b"c") == "旧形式"
    _rotate_to_a_new_key(settings)
    assert crypto.decrypt(legacy, context=b"c") == "旧形式"  # found among the retired keys


def test_a_value_under_an_unknown_key_is_refused(settings: Any) -> None:
    blob = crypto.encrypt("x", context=b"c")
    settings.DATA_KEY = _new_key()
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(blob, context=b"c")


@pytest.mark.django_db
def test_rotation_moves_every_value_to_the_new_key(settings: Any, categories: Any) -> None:
    subscriber = make_subscriber("hanako@example.jp", categories["bousai"])
    assert run_import(CSV).status == "applied"
    hash_before = subscriber.email_hash
    _rotate_to_a_new_key(settings)
    assert keys_status()["residents.Subscriber.email_ciphertext"] == (1, 1)
    assert keys_status()["directory.StaffMember.phone_ciphertext"] == (1, 1)

    assert keys_rotate(actor=OPERATOR) == 4  # one address, a name, an address, a phone

    assert all(stale == 0 for _, stale in keys_status().values())
    settings.DATA_KEYS_RETIRED = []  # step 3: the old key is no longer needed
    assert Subscriber.objects.get().email == "hanako@example.jp"
    staff = StaffMember.objects.get()
    assert (staff.name, staff.email, staff.phone) == (
        "山田",
        "yamada@city.example.jp",
        "+819012345678",
    )
    # The hashes did not change: the resident and the staff member are still found by address.
    assert crypto.lookup_hash("hanako@example.jp") == hash_before
    assert member("yamada@city.example.jp") == staff
    assert AuditEvent.objects.filter(action="keys.rotate", details={"values": 4}).count() == 1


@pytest.mark.django_db
def test_rotation_twice_changes_nothing_the_second_time(settings: Any, categories: Any) -> None:
    make_subscriber("hanako@example.jp", categories["bousai"])
    _rotate_to_a_new_key(settings)
    assert keys_rotate(actor=OPERATOR) == 1
    blob = bytes(Subscriber.objects.get().email_ciphertext)
    assert keys_rotate(actor=OPERATOR) == 0
    assert bytes(Subscriber.objects.get().email_ciphertext) == blob


@pytest.mark.django_db
def test_rotation_without_the_retired_key_fails_and_writes_nothing(
    settings: Any, categories: Any
) -> None:
    make_subscriber("hanako@example.jp", categories["bousai"])
    blob = bytes(Subscriber.objects.get().email_ciphertext)
    settings.LOOKUP_KEY = settings.DATA_KEY
    settings.DATA_KEY = _new_key()  # the operator forgot ANSHIN_DATA_KEYS_RETIRED
    with pytest.raises(crypto.DecryptionError):
        keys_rotate(actor=OPERATOR)
    assert bytes(Subscriber.objects.get().email_ciphertext) == blob
    assert not AuditEvent.objects.filter(action="keys.rotate").exists()


@pytest.mark.django_db
def test_check_refuses_a_changed_lookup_key(settings: Any, categories: Any) -> None:
    LookupKey.objects.update_or_create(pk=1, defaults={"fingerprint": crypto.lookup_key_id()})
    original = settings.DATA_KEY
    settings.DATA_KEY = settings.LOOKUP_KEY = _new_key()
    assert lookup_key_unchanged() == []  # no hash stored yet: a new key is harmless
    lookup_key_refresh()
    assert LookupKey.objects.get().fingerprint == crypto.lookup_key_id()
    settings.DATA_KEY = settings.LOOKUP_KEY = original
    lookup_key_refresh()
    make_subscriber("hanako@example.jp", categories["bousai"])
    lookup_key_refresh()  # a hash is stored now: the recorded key stays
    assert LookupKey.objects.get().fingerprint == crypto.lookup_key_id()
    assert lookup_key_unchanged() == []
    settings.DATA_KEY = settings.LOOKUP_KEY = _new_key()  # replaced without pinning
    (error,) = lookup_key_unchanged()
    assert error.id == "anshin.E040"
    assert "ANSHIN_LOOKUP_KEY" in error.msg
    lookup_key_refresh()  # `anshin migrate` does not paper over it
    assert [e.id for e in lookup_key_unchanged()] == ["anshin.E040"]
    settings.LOOKUP_KEY = original  # pinned, as the procedure says
    assert lookup_key_unchanged() == []


@pytest.mark.django_db
def test_keys_command_reports_and_rotates(settings: Any, categories: Any) -> None:
    make_subscriber("hanako@example.jp", categories["bousai"])
    _rotate_to_a_new_key(settings)
    out = StringIO()
    with translation.override("en"):
        call_command("keys", "status", stdout=out)
        call_command("keys", "rotate", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "residents.Subscriber.email_ciphertext: 1 of 1 under a retired key"
    assert "residents.Subscriber.email_ciphertext: 1 re-encrypted" in lines
    assert lines[-1] == "Re-encrypted 1 value."
