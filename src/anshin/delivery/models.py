"""What was sent to whom, and how it ended. The database is the truth; the queue carries ids."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from anshin.alerts.models import Alert
from anshin.residents.models import Subscriber


class SendState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    ACCEPTED = "accepted", _("Accepted by the relay")
    FAILED = "failed", _("Failed")
    STOPPED = "stopped", _("Stopped by staff")
    EXPIRED = "expired", _("Expired before it could be sent")


class SendRecord(models.Model):
    """The per-message state machine shared by alert mail and resident notification mail.

    queued → sending (claimed with a lease) → accepted | failed, or back to queued with a
    later `next_attempt_at` on a temporary error. A row stuck in sending past its lease is
    put back to queued by the reconciler: the worst case is one re-send, never a skip.
    """

    state = models.CharField(max_length=16, choices=SendState.choices, default=SendState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True, db_index=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    smtp_reply = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class Delivery(models.Model):
    """One channel of one alert. For e-mail, fan-out turns it into one Message per recipient."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to start")
        FANNING_OUT = "fanning_out", _("Preparing recipients")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Finished")

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(max_length=16, default="email")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    total = models.PositiveIntegerField(default=0)
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel"], name="one_delivery_per_channel")
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"delivery #{self.pk} ({self.channel})"


class Message(SendRecord):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="messages")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "subscriber"], name="one_message_per_recipient"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["delivery", "state"]),
        ]

    def __str__(self) -> str:
        return f"message #{self.pk} ({self.state})"


class RelaySlot(models.Model):
    """One of the relay's allowed concurrent connections (ANSHIN_RELAY_MAX_CONNECTIONS), held
    by one sending connection at a time across every worker on every machine."""

    holder = models.CharField(max_length=32, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"relay slot {self.pk} ({self.holder or 'free'})"


class Notification(SendRecord):
    """A mail to one resident about their own subscription (confirm, complete, …).

    The bulk kinds (migration notice, receipt check, pause notice) go to many residents at
    once: they are sent in id-range batches on the bulk queue, never one task per mail.
    """

    class Kind(models.TextChoices):
        CONFIRM = "confirm", _("Confirm your address")
        COMPLETE = "complete", _("Registration complete")
        ALREADY = "already", _("Already registered")
        MIGRATION = "migration", _("Moved to the new system")
        RECEIPT_CHECK = "receipt_check", _("Yearly receipt check")
        SUSPENDED = "suspended", _("Mail paused")
        MAIL_REGISTER = "mail_register", _("Registration link for an empty mail")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    resident_import = models.ForeignKey(
        "residents.ResidentImport",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    receipt_check = models.ForeignKey(
        "residents.ReceiptCheck",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        constraints = [
            # A migrated resident is told once, however often the same file is imported.
            models.UniqueConstraint(
                fields=["subscriber"],
                condition=models.Q(kind="migration"),
                name="one_migration_notice_per_subscriber",
            ),
            # Two schedulers, or one restarted mid-snapshot, never mail anyone twice per check.
            models.UniqueConstraint(
                fields=["receipt_check", "kind", "subscriber"],
                name="one_check_mail_per_subscriber",
            ),
        ]

    def __str__(self) -> str:
        return f"notification #{self.pk} ({self.kind}, {self.state})"


#: Kinds sent in id-range batches on the bulk queue (see services.notification_send_batch).
BULK_KINDS = frozenset(
    {Notification.Kind.MIGRATION, Notification.Kind.RECEIPT_CHECK, Notification.Kind.SUSPENDED}
)


from anshin.delivery.models_canary import CANARY_CONTEXT, Canary, CanaryMessage  # noqa: E402, F401
from anshin.delivery.models_suppression import Bounce, Suppression  # noqa: E402, F401
