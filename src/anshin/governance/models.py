"""Retention runs and the deletion certificates (削除証明書) they issue (P1)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PurgeRun(models.Model):
    """One purge. A scheduled run is unique per day (Asia/Tokyo), so two schedulers start it
    once; its lease lets a run that died half-way be resumed by the next tick."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Nightly schedule")
        OPERATOR = "operator", _("Operator (command line)")

    day = models.DateField(null=True, blank=True, unique=True)  # scheduled runs only
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    started_at = models.DateTimeField()
    leased_until = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"purge run #{self.pk}"


class Certificate(models.Model):
    """What one run deleted of one kind. Counted batch by batch in the transaction that
    deletes (so a crash loses no count), then closed, then issued: signed and rendered."""

    run = models.ForeignKey(PurgeRun, on_delete=models.PROTECT, related_name="certificates")
    kind = models.CharField(max_length=16)
    count = models.PositiveIntegerField(default=0)
    breakdown = models.JSONField(default=dict, blank=True)  # count per table
    records_from = models.DateTimeField(null=True, blank=True)
    records_to = models.DateTimeField(null=True, blank=True)
    cutoff = models.DateTimeField()
    days = models.PositiveIntegerField()
    closed_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    serial = models.CharField(max_length=32, blank=True)
    content = models.JSONField(default=dict, blank=True)  # exactly what was signed
    signature = models.CharField(max_length=128, blank=True)  # base64url Ed25519
    pdf = models.BinaryField(blank=True, default=b"")
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "kind"], name="one_certificate_per_run_kind")
        ]

    def __str__(self) -> str:
        return f"certificate {self.serial or self.pk} ({self.kind})"

    @property
    def kind_label(self) -> str:
        from anshin.governance.retention import kind_named

        return str(kind_named(self.kind).label)
