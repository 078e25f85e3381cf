"""Social and chat channels (X, Mastodon, Bluesky, LINE, Slack, webhooks) per category, and one
post row per alert and channel (S8: the seed asks for Twitter linkage)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anshin.alerts.models import Alert, Category

# Binds the ciphertext of a channel's Apprise URL (it holds the account's credentials) to
# its column; registered in anshin.core.keyring so key rotation re-encrypts it.
URL_CONTEXT = b"channels.channel.url"
LABEL_MAX = 60
URL_MAX = 2000
REASON_MAX = 200


class Channel(models.Model):
    class Kind(models.TextChoices):
        TWITTER = "twitter", _("X (Twitter)")
        MASTODON = "mastodon", _("Mastodon")
        BLUESKY = "bluesky", _("Bluesky")
        LINE = "line", _("LINE")
        SLACK = "slack", _("Slack")
        WEBHOOK = "webhook", _("Webhook (JSON)")

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="social_channels")
    kind = models.CharField(_("service"), max_length=16, choices=Kind.choices)
    label = models.CharField(_("channel name"), max_length=LABEL_MAX)
    url_ciphertext = models.BinaryField()
    # What the console shows instead of the URL: the service and, where it is not a secret,
    # the host. Made once when the URL is saved, never from the secret parts.
    url_masked = models.CharField(max_length=200)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category__sort_order", "category_id", "id"]
        verbose_name = _("social channel")
        verbose_name_plural = _("social channels")

    def __str__(self) -> str:
        return f"{self.label} ({self.kind})"


class Post(models.Model):
    """One alert on one channel. The database is the truth: the task carries only this id,
    and the reconciler re-queues rows whose message or worker was lost."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to post")
        POSTING = "posting", _("Posting now")
        POSTED = "posted", _("Posted")
        RETRYING = "retrying", _("Will retry")
        FAILED = "failed", _("Post failed")
        # The alert was stopped or expired before the post went out: never posted late.
        SKIPPED = "skipped", _("Not posted (alert stopped or expired)")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="social_posts")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="posts")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    text = models.TextField()  # exactly what is posted (public alert content, no secret)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # the platform's HTTP
    reason = models.CharField(max_length=REASON_MAX, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["alert_id", "channel_id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel"], name="channels_post_once"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        verbose_name = _("social post")
        verbose_name_plural = _("social posts")

    def __str__(self) -> str:
        return f"post {self.pk} ({self.state})"
