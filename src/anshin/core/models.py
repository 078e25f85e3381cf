"""Shared models: the audit trail every staff, operator and system action writes to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One recorded action. Details name rows by id and never hold personal data.

    Entries form a hash chain: ``hash`` is SHA-256 over the previous entry's hash and this
    entry's canonical content, and ``seq`` numbers them without gaps. Altering, removing or
    reordering an entry breaks the chain from there on (``anshin audit verify``). The chain is
    deliberately unkeyed: an auditor can check an exported log without any of the city's
    secrets. Someone able to rewrite the whole table could recompute it, which is why the
    chain head is printed in every council report, outside the database.
    """

    class ActorKind(models.TextChoices):
        STAFF = "staff", _("Staff")
        OPERATOR = "operator", _("Operator (command line)")
        SYSTEM = "system", _("System")
        RESIDENT = "resident", _("Resident")
        RECIPIENT = "recipient", _("Staff member, by a call-out reply link")
        INTEGRATION = "integration", _("Integration (API key)")

    at = models.DateTimeField(default=timezone.now, db_index=True)  # set before hashing
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    seq = models.BigIntegerField(unique=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_kind} {self.action}"


class AuditChain(models.Model):
    """The chain's head: one row, locked by every append so that entries get consecutive
    numbers even with writers on several machines. Its copy of the last hash also reveals a
    truncated log (entries removed from the end)."""

    seq = models.BigIntegerField(default=0)
    head = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit chain at #{self.seq}"


class LookupKey(models.Model):
    """The fingerprint of the look-up (hash) key the database's hashes were made with, so that
    a changed key is caught by `anshin check` before a single suppressed address slips by."""

    fingerprint = models.CharField(max_length=16)
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"look-up key {self.fingerprint}"
