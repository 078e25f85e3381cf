"""Residents hold nothing but an address (encrypted) and the categories they chose (S4)."""

from __future__ import annotations

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

    class Meta:
        indexes = [models.Index(fields=["state", "id"])]

    def __str__(self) -> str:
        return f"subscriber #{self.pk}"

    @property
    def email(self) -> str:
        """The decrypted address. Only mail rendering and the (logged) reveal should call this."""
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
