from __future__ import annotations

from anshin.residents.models import PrivacyNotice


def notice_version(version: int | None) -> PrivacyNotice | None:
    return PrivacyNotice.objects.filter(version=version).first() if version else None


def current_notice() -> PrivacyNotice:
    notice = PrivacyNotice.objects.order_by("-version").first()
    if notice is None:
        raise PrivacyNotice.DoesNotExist("No privacy notice has been published.")
    return notice
