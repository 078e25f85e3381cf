"""API keys: one per integrating system (the police-mail relay, a river-level sensor, …)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anshin.alerts.models import Category


class ApiKey(models.Model):
    """A bearer key. Only its public prefix (for look-up) and a SHA-256 of its secret part are
    stored; the whole key is shown once, at creation. A revoked key stays, for the audit."""

    name = models.CharField(_("integration name"), max_length=80)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    categories = models.ManyToManyField(Category, related_name="+", verbose_name=_("categories"))
    can_read = models.BooleanField(_("may read alerts and delivery status"), default=True)
    can_send = models.BooleanField(_("may publish alerts"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
