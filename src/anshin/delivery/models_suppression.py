"""The suppression list and the bounces that feed it.

Both hold the keyed look-up hash of an address (the same value as `Subscriber.email_hash`),
never the address itself: a dump of these tables says nothing about anyone without the data
key. Imported at the end of `delivery/models.py` so that Django finds the models.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Suppression(models.Model):
    """An address that gets no ordinary alert mail, and why (shown to staff)."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("The address does not exist (hard bounce)")
        SOFT_BOUNCES = "soft_bounces", _("Repeated delivery failures (soft bounces)")
        COMPLAINT = "complaint", _("Marked as spam by the resident (complaint)")
        MANUAL = "manual", _("Added by staff")

    address_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # A status code and a count ("5.1.1", "4.2.2; 3 soft bounces in 14 days"), never an address.
    detail = models.CharField(max_length=200, blank=True)
    # The mail whose bounce caused it; kept when that row is deleted by retention.
    message = models.ForeignKey(
        "delivery.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notification = models.ForeignKey(
        "delivery.Notification", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"suppression #{self.pk} ({self.reason})"


class Bounce(models.Model):
    """One bounce or complaint about one mail we sent. At most one per mail, so a bounce that
    arrives twice (a re-imported mbox, a re-sent mail) is counted once."""

    class Kind(models.TextChoices):
        HARD = "hard", _("Hard bounce")
        SOFT = "soft", _("Soft bounce")
        COMPLAINT = "complaint", _("Complaint")

    address_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, blank=True)  # RFC 3463 code, e.g. "5.1.1"
    received_at = models.DateTimeField()
    message = models.ForeignKey(
        "delivery.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    notification = models.ForeignKey(
        "delivery.Notification", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # NULLs are distinct on SQLite and PostgreSQL, so rows without a mail never clash.
            models.UniqueConstraint(fields=["message"], name="one_bounce_per_message"),
            models.UniqueConstraint(fields=["notification"], name="one_bounce_per_notification"),
        ]
        indexes = [models.Index(fields=["address_hash", "kind", "received_at"])]

    def __str__(self) -> str:
        return f"bounce #{self.pk} ({self.kind} {self.status})"
