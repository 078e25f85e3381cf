from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

SUBJECT_MAX = 120
BODY_MAX = 10_000


class Category(models.Model):
    """A kind of information residents choose on the registration page (S1): 防災, 防犯, …"""

    slug = models.SlugField(unique=True, max_length=32)
    name_ja = models.CharField(max_length=40)
    name_en = models.CharField(max_length=60)
    description_ja = models.CharField(max_length=200, blank=True)
    description_en = models.CharField(max_length=200, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    # After this, an alert's undelivered mail is dropped rather than sent late: an evacuation
    # order that arrives hours after it was lifted does harm.
    expiry_hours = models.PositiveSmallIntegerField(default=24)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "ja").startswith("en") else self.name_ja

    @property
    def description(self) -> str:
        return (
            self.description_en
            if (get_language() or "ja").startswith("en")
            else self.description_ja
        )


class Alert(models.Model):
    class Via(models.TextChoices):
        CONSOLE = "console", _("Console")
        CLI = "cli", _("Command line")

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="alerts")
    subject = models.CharField(max_length=SUBJECT_MAX)
    body = models.TextField(max_length=BODY_MAX)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    created_via = models.CharField(max_length=16, choices=Via.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.subject
