from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def city(request: HttpRequest) -> dict[str, object]:
    return {
        "city_name": settings.CITY_NAME,
        "inquiry_contact": settings.INQUIRY_CONTACT,
        "mail_from": settings.MAIL_FROM,
        "mail_domain": settings.MAIL_FROM.rpartition("@")[2],
        "demo_mode": settings.DEMO,
    }
