"""Test addresses (canaries) for go-live and post-maintenance checks (P6).

A canary is a test address the city holds (a test phone on each carrier): it receives every
alert beside the residents, and a test send goes to the canaries only, so staff see the real
mail arrive before a real send. Canaries are not residents: they have their own table, are
never counted among residents, and their mail rows are kept apart from the residents' progress.
Imported at the end of `delivery/models.py` so that Django finds the models.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from anshin.alerts.models import Alert
from anshin.delivery.models import SendRecord

CANARY_CONTEXT = b"delivery.canary.email"
LABEL_MAX = 60


class Canary(models.Model):
    """A test address, encrypted like every other address; the list shows its masked form."""

    email_ciphertext = models.BinaryField()
    email_hash = models.CharField(max_length=64)
    # Shown instead of the address (t***@d***.ne.jp): enough to tell the phones apart.
    email_masked = models.CharField(max_length=80)
    label = models.CharField(max_length=LABEL_MAX, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A removed canary keeps its row (its past mail rows point at it) but not its address.
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["email_hash"],
                condition=models.Q(removed_at__isnull=True),
                name="one_canary_per_address",
            )
        ]

    def __str__(self) -> str:
        return f"canary #{self.pk}"


class CanaryMessage(SendRecord):
    """One alert mail to one canary. Round 0 goes out with the alert's real send; rounds 1, 2,
    … are test sends made before it. `confirmed_at` is set when the person holding the test
    phone taps the confirm link in the mail: the mail reached the phone, not just the relay."""

    #: The VERP letter of these rows' return path: staff mail, like a call-out's (see
    #: anshin.delivery.verp and bounces): a bounce is logged and suppresses nothing.
    VERP_KIND = "c"

    alert = models.ForeignKey(Alert, on_delete=models.PROTECT, related_name="canary_messages")
    canary = models.ForeignKey(Canary, on_delete=models.PROTECT, related_name="messages")
    round = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "canary", "round"], name="one_canary_mail_per_round"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            models.Index(fields=["alert", "round"]),
        ]

    def __str__(self) -> str:
        return f"canary message #{self.pk} ({self.state})"

    @property
    def is_test(self) -> bool:
        return self.round > 0
