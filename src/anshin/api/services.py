"""What an integration changes through the API: the same services the console calls, with
the key that acted recorded beside them."""

from __future__ import annotations

from django.db import transaction

from anshin.alerts.approval import alert_submit
from anshin.alerts.models import Alert, Category
from anshin.alerts.services import CapChoices
from anshin.api.models import ApiKey
from anshin.core.audit import INTEGRATION, Actor, audit_record

# Stored in Alert.created_via; the alerts app has no choice for it yet (see the report), so
# the console shows the raw value.
VIA_API = "api"


def api_actor(key: ApiKey) -> Actor:
    """An integration acts as itself; each change it makes also gets a row naming the key."""
    return INTEGRATION


def api_alert_publish(
    *,
    key: ApiKey,
    category: Category,
    subject: str,
    body: str,
    cap: CapChoices,
    subject_en: str = "",
    body_en: str = "",
) -> Alert:
    """Submit exactly as the console and `anshin alert publish` do (alert_submit: published at
    once, or held for a second person's approval if the category requires it), and record in
    the same transaction which key did it."""
    with transaction.atomic():
        alert = alert_submit(
            actor=api_actor(key),
            category=category,
            subject=subject,
            body=body,
            via=VIA_API,
            cap=cap,
            subject_en=subject_en,
            body_en=body_en,
        )
        audit_record(
            actor=api_actor(key),
            action="api_key.use",
            target=alert,
            details={"api_key": key.pk, "action": "alert.submit"},
        )
    return alert
