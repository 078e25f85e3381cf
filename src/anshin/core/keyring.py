"""Data-key rotation: which columns hold ciphertext, re-encrypting them under the current key
in short batches while the system runs, and the check that the look-up key never changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, register
from django.db import DatabaseError, models, transaction

from anshin.core import crypto
from anshin.core.audit import Actor, audit_record
from anshin.core.models import LookupKey

ROTATE_BATCH = 500


@dataclass(frozen=True)
class EncryptedColumn:
    model: str  # app_label.ModelName
    field: str
    context: bytes

    @property
    def label(self) -> str:
        return f"{self.model}.{self.field}"

    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)


def encrypted_columns() -> list[EncryptedColumn]:
    """Every column encrypted with the data key: personal data, and the credentials in the
    social channels' URLs."""
    from anshin.channels import models as channels
    from anshin.delivery import models as delivery
    from anshin.directory import models as directory
    from anshin.residents import models as residents

    return [
        EncryptedColumn("residents.Subscriber", "email_ciphertext", residents.EMAIL_CONTEXT),
        EncryptedColumn("directory.StaffMember", "name_ciphertext", directory.NAME_CONTEXT),
        EncryptedColumn("directory.StaffMember", "email_ciphertext", directory.EMAIL_CONTEXT),
        EncryptedColumn("directory.StaffMember", "phone_ciphertext", directory.PHONE_CONTEXT),
        EncryptedColumn("channels.Channel", "url_ciphertext", channels.URL_CONTEXT),
        EncryptedColumn("delivery.Canary", "email_ciphertext", delivery.CANARY_CONTEXT),
    ]


def _stale(blob: Any, current: bytes) -> bool:
    """A value under another key (an erased value, b"", holds nothing to re-encrypt)."""
    return bool(blob) and crypto.blob_key_id(bytes(blob)) != current


def keys_status() -> dict[str, tuple[int, int]]:
    """Per column: (values, values still under an older key)."""
    from django.conf import settings

    current = crypto.key_id(settings.DATA_KEY)
    status = {}
    for column in encrypted_columns():
        blobs = column.model_class()._default_manager.values_list(column.field, flat=True)
        total = stale = 0
        for blob in blobs.iterator(chunk_size=2000):
            total += bool(blob)
            stale += _stale(blob, current)
        status[column.label] = (total, stale)
    return status


def keys_rotate(*, actor: Actor, progress: Callable[[str, int], None] | None = None) -> int:
    """Re-encrypt every value not under the current data key; returns how many. Batches of
    ROTATE_BATCH rows in short transactions; a value changed meanwhile is left to the next
    run (the update is conditional on the old ciphertext), so it is safe while the system
    runs and safe to interrupt and run again."""
    from django.conf import settings

    current = crypto.key_id(settings.DATA_KEY)
    rotated = 0
    for column in encrypted_columns():
        done = _rotate_column(column, current)
        rotated += done
        if progress is not None:
            progress(column.label, done)
    with transaction.atomic():
        audit_record(actor=actor, action="keys.rotate", details={"values": rotated})
    return rotated


def _rotate_column(column: EncryptedColumn, current: bytes) -> int:
    manager = column.model_class()._default_manager
    after, done = 0, 0
    while True:
        rows = list(
            manager.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", column.field)[:ROTATE_BATCH]
        )
        if not rows:
            return done
        with transaction.atomic():
            for pk, blob in rows:
                if _stale(blob, current):
                    plain = crypto.decrypt(bytes(blob), context=column.context)
                    fresh = crypto.encrypt(plain, context=column.context)
                    done += manager.filter(pk=pk, **{column.field: blob}).update(
                        **{column.field: fresh}
                    )
        after = rows[-1][0]


def _hashes_exist() -> bool:
    """Whether any look-up hash is stored (a key change before that is harmless)."""
    from django_otp.plugins.otp_static.models import StaticToken

    from anshin.delivery.models import Canary, Suppression
    from anshin.directory.models import StaffMember
    from anshin.residents.models import Subscriber

    models = (Subscriber, Suppression, StaffMember, Canary, StaticToken)  # backup codes too
    return any(m.objects.exists() for m in models)


def lookup_key_refresh(**kwargs: Any) -> None:
    """After `migrate`: record the look-up key, or a new one while no hash is stored yet."""
    current = crypto.lookup_key_id()
    if not LookupKey.objects.filter(pk=1, fingerprint=current).exists() and not _hashes_exist():
        LookupKey.objects.update_or_create(pk=1, defaults={"fingerprint": current})


@register("anshin")
def lookup_key_unchanged(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        recorded = LookupKey.objects.filter(pk=1).values_list("fingerprint", flat=True).first()
        if recorded is None or recorded == crypto.lookup_key_id() or not _hashes_exist():
            return []
    except DatabaseError:  # not migrated yet: nothing recorded to compare with
        return []
    return [
        Error(
            "The look-up key is not the one this database's hashes were made with, so "
            "registered and suppressed addresses would no longer be recognised. Set "
            "ANSHIN_LOOKUP_KEY to the original data key (the data key itself may be rotated: "
            "the previous one goes in ANSHIN_DATA_KEYS_RETIRED).",
            id="anshin.E040",
        )
    ]
