"""Notices forwarded to the intake address, held as drafts until staff decide (S7).

A draft is never sent by itself: staff open it, and "use as alert" only fills the compose
form, whose own preview and send buttons then apply as for any alert.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IntakeDraft(models.Model):
    class State(models.TextChoices):
        NEW = "new", _("Waiting for review")
        USED = "used", _("Used for an alert")
        DISCARDED = "discarded", _("Discarded")

    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    # Where it came from: the original notice's From, Date and Message-ID (of the attached
    # original when forwarded as an attachment), and who forwarded it (the envelope sender).
    source_from = models.CharField(max_length=320, blank=True)
    source_date = models.CharField(max_length=100, blank=True)
    source_sent_at = models.DateTimeField(null=True, blank=True)
    source_message_id = models.CharField(max_length=300, blank=True)
    forwarded_by = models.CharField(max_length=320)
    # Message-ID of the mail that reached us: an MTA re-delivering it makes no second draft.
    message_id = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["state", "received_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~models.Q(message_id=""),
                name="one_draft_per_inbound_message",
            )
        ]

    def __str__(self) -> str:
        return f"intake draft #{self.pk} ({self.state})"
