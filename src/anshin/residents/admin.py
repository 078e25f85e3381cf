from django.contrib import admin
from django.http import HttpRequest

from anshin.residents.models import PrivacyNotice


@admin.register(PrivacyNotice)
class PrivacyNoticeAdmin(admin.ModelAdmin):
    """Notices are versioned: a published version is never edited, a new one is added."""

    list_display = ["version", "published_at"]

    def has_change_permission(self, request: HttpRequest, obj: PrivacyNotice | None = None) -> bool:
        return obj is None

    def has_delete_permission(self, request: HttpRequest, obj: PrivacyNotice | None = None) -> bool:
        return False
