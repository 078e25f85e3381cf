"""Staff call-outs (職員参集・安否確認): a message to staff selected by attributes, the recipients
snapshotted at send time, each one's reply, and every mail and SMS sent for it.

Why the recipients are a snapshot: the board must answer "who was asked", also after a CSV
import has changed departments or deactivated people. The department is copied for the
per-department counts for the same reason; names and contact data are not copied (they stay
encrypted on :class:`StaffMember`).

Why the reply token is not stored: a recipient's link carries a short token (64 bits) derived
from a random per-recipient nonce with a key only the application holds
(:mod:`anshin.directory.callouts.tokens`); the row keeps the nonce and a keyed hash of the token
for the look-up. A database dump alone opens no reply page, and a task can still re-render the
link for a reminder from the row's id.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anshin.core.models import AuditEvent
from anshin.delivery.models import SendRecord
from anshin.directory.models import ATTRIBUTE_MAX, StaffMember

SUBJECT_MAX = 200
BODY_MAX = 5000
CHOICE_MAX = 40
CHOICES_MAX = 10


class Callout(models.Model):
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX)
    body = models.TextField(_("message"))
    #: The reply choices, in order (a recipient's answer is an index); empty: no reply asked.
    choices = models.JSONField(default=list, blank=True)
    #: AND-ed groups, each an OR of [field, value] terms; empty: every active staff member.
    selection = models.JSONField(default=list, blank=True)
    send_email = models.BooleanField(default=True)
    send_sms = models.BooleanField(default=False)
    reply_deadline = models.DateTimeField(null=True, blank=True)
    reminder_after_minutes = models.PositiveIntegerField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField()
    actor_kind = models.CharField(max_length=16, choices=AuditEvent.ActorKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "-id"]
        permissions = [
            ("send_callout", "Can compose and send staff call-outs and reminders"),
            ("export_callout", "Can export the replies of a staff call-out"),
        ]

    def __str__(self) -> str:
        return f"call-out #{self.pk}"

    @property
    def asks_reply(self) -> bool:
        return bool(self.choices)


class CalloutRecipient(models.Model):
    callout = models.ForeignKey(Callout, on_delete=models.CASCADE, related_name="recipients")
    member = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="+")
    department = models.CharField(max_length=ATTRIBUTE_MAX, blank=True)  # at send time
    token_nonce = models.CharField(max_length=32)
    token_hash = models.CharField(max_length=64, unique=True)
    choice = models.PositiveSmallIntegerField(null=True, blank=True)  # index into choices
    replied_at = models.DateTimeField(null=True, blank=True)
    reply_changes = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["callout", "member"], name="one_recipient_per_member")
        ]
        indexes = [models.Index(fields=["callout", "choice"])]

    def __str__(self) -> str:
        return f"call-out recipient #{self.pk}"


class CalloutReminder(models.Model):
    """One reminder round: round 0 is the call-out itself, reminders count from 1."""

    callout = models.ForeignKey(Callout, on_delete=models.CASCADE, related_name="reminders")
    number = models.PositiveSmallIntegerField()
    automatic = models.BooleanField(default=False)
    at = models.DateTimeField()
    recipients = models.PositiveIntegerField(default=0)
    actor_kind = models.CharField(max_length=16, choices=AuditEvent.ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["callout", "number"], name="one_reminder_per_round"),
            models.UniqueConstraint(
                fields=["callout"],
                condition=models.Q(automatic=True),
                name="one_automatic_reminder",
            ),
        ]

    def __str__(self) -> str:
        return f"reminder {self.number} of call-out #{self.callout_id}"


class CalloutSend(SendRecord):
    """One mail or SMS to one recipient in one round, through the delivery engine's states."""

    #: The VERP letter of these rows' return path (see anshin.delivery.verp).
    VERP_KIND = "c"

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")

    recipient = models.ForeignKey(CalloutRecipient, on_delete=models.CASCADE, related_name="sends")
    callout = models.ForeignKey(Callout, on_delete=models.CASCADE, related_name="sends")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    round = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "channel", "round"], name="one_send_per_round"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["callout", "channel", "state"]),
        ]

    def __str__(self) -> str:
        return f"call-out {self.channel} #{self.pk} ({self.state})"
