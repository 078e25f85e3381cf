"""Residents hold nothing but an address (encrypted) and the categories they chose (S4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from anshin.alerts.models import Category
from anshin.core import crypto

EMAIL_CONTEXT = b"residents.subscriber.email"


class PrivacyNotice(models.Model):
    """A version of the notice on how personal data is handled, shown in full at sign-up (S5)."""

    version = models.PositiveIntegerField(unique=True)
    body_ja = models.TextField()
    body_en = models.TextField()
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"

    @property
    def body(self) -> str:
        return self.body_en if (get_language() or "ja").startswith("en") else self.body_ja


class Subscriber(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        ACTIVE = "active", _("Subscribed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        # Paused by a yearly receipt check the resident did not answer (S10): kept, gets no
        # alert, and resumes with one tap on the link in the notice mail.
        SUSPENDED = "suspended", _("Paused (receipt not confirmed)")

    email_ciphertext = models.BinaryField()
    email_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    categories = models.ManyToManyField(Category, related_name="subscribers", blank=True)
    notice = models.ForeignKey(PrivacyNotice, null=True, on_delete=models.PROTECT)
    consent_basis = models.CharField(max_length=200, blank=True)
    confirm_nonce = models.CharField(max_length=32, blank=True)
    token_key = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "id"])]

    def __str__(self) -> str:
        return f"subscriber #{self.pk}"

    @property
    def email(self) -> str:
        """The decrypted address. Only mail rendering and the (logged) reveal should call this."""
        if not self.email_ciphertext:
            raise crypto.DecryptionError(
                "This address was erased after its retention period; only its hash is kept."
            )
        return crypto.decrypt(bytes(self.email_ciphertext), context=EMAIL_CONTEXT)


class MailBudget(models.Model):
    """How many confirmation-type mails one address received in its current 24 h window."""

    address_hash = models.CharField(max_length=64, unique=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"budget {self.count} since {self.window_start:%Y-%m-%d %H:%M}"


class RequestThrottle(models.Model):
    """Form submissions per hashed client address per hour (the raw IP is never stored)."""

    key_hash = models.CharField(max_length=64, unique=True)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"throttle {self.count} since {self.window_start:%Y-%m-%d %H:%M}"


class ResidentImport(models.Model):
    """One applied import of residents who consented elsewhere (S6): its counts and whether
    each new subscriber was sent the migration notice. Counts only, never an address."""

    basis = models.CharField(max_length=200)
    actor_kind = models.CharField(max_length=16)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    counts = models.JSONField(default=dict)
    notify = models.BooleanField(default=False)
    notices = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("import_subscribers", "Can import residents from the old system and notify them"),
        ]

    def __str__(self) -> str:
        return f"resident import #{self.pk}"


class ReceiptCheck(models.Model):
    """The yearly receipt check (S10): on `starts_at` every active subscriber is asked to
    confirm that our mail reaches them; after `deadline_at` the policy runs once.

    scheduled → sending (recipients snapshotted chunk by chunk, `cursor` = last subscriber
    id done) → sent → closing (policy, `cursor` again) → closed; or scheduled → cancelled.
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")
        SENDING = "sending", _("Sending the check mail")
        SENT = "sent", _("Waiting for confirmations")
        CLOSING = "closing", _("Applying the policy")
        CLOSED = "closed", _("Finished")

    class Policy(models.TextChoices):
        KEEP = "keep", _("Keep sending to residents who did not confirm")
        SUSPEND = "suspend", _("Pause residents who did not confirm, with a notice on resuming")

    send_on = models.DateField()
    starts_at = models.DateTimeField()
    deadline = models.DateField()
    deadline_at = models.DateTimeField()
    policy = models.CharField(max_length=16, choices=Policy.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED)
    cursor = models.BigIntegerField(default=0)
    recipients = models.PositiveIntegerField(default=0)
    suspended = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-send_on", "-pk"]
        indexes = [models.Index(fields=["state", "starts_at"])]

    def __str__(self) -> str:
        return f"receipt check #{self.pk} ({self.send_on:%Y-%m-%d})"


class ReceiptConfirmation(models.Model):
    """A resident pressed the button: our mail reaches them. One per check and subscriber."""

    check_run = models.ForeignKey(ReceiptCheck, on_delete=models.CASCADE, related_name="+")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="+")
    confirmed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["check_run", "subscriber"], name="one_confirmation_per_check"
            )
        ]

    def __str__(self) -> str:
        return f"receipt confirmation #{self.pk}"
