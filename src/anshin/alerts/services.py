"""Authoring and publishing alerts (S7)."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.alerts.models import BODY_MAX, SUBJECT_MAX, Alert, Category
from anshin.core.audit import Actor, audit_record
from anshin.delivery.models import Delivery


def clean_subject(subject: str) -> str:
    """A subject is one line: CR, LF and other control characters are refused, not stripped,
    so that what staff see in the preview is exactly what is sent."""
    subject = subject.strip()
    if not subject:
        raise ValidationError(_("Enter a subject."), code="required")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in subject):
        raise ValidationError(
            _("The subject must be one line without control characters."), code="control"
        )
    if len(subject) > SUBJECT_MAX:
        raise ValidationError(
            _("The subject is too long (at most %(max)d characters).") % {"max": SUBJECT_MAX},
            code="max_length",
        )
    return subject


def clean_body(body: str) -> str:
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not body.strip():
        raise ValidationError(_("Enter the message."), code="required")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in body):
        raise ValidationError(_("The message contains control characters."), code="control")
    if len(body) > BODY_MAX:
        raise ValidationError(
            _("The message is too long (at most %(max)d characters).") % {"max": BODY_MAX},
            code="max_length",
        )
    return body


def alert_publish(*, actor: Actor, category: Category, subject: str, body: str, via: str) -> Alert:
    """Create and publish an alert: one e-mail Delivery, fanned out after commit.

    If the commit succeeds but the task message is lost, the scheduler's reconciler finds the
    pending delivery and queues it again.
    """
    from anshin.delivery import tasks

    subject, body = clean_subject(subject), clean_body(body)
    if not category.active:
        raise ValidationError(_("This category is not in use."), code="inactive")
    with transaction.atomic():
        now = timezone.now()
        alert = Alert.objects.create(
            expires_at=now + timedelta(hours=category.expiry_hours),
            category=category,
            subject=subject,
            body=body,
            created_via=via,
            created_by=actor.user,
            published_at=now,
        )
        delivery = Delivery.objects.create(alert=alert, channel="email")
        audit_record(
            actor=actor,
            action="alert.publish",
            target=alert,
            details={"category": category.slug, "via": via},
        )
        transaction.on_commit(lambda: tasks.fan_out.delay(delivery.pk))
    return alert


def alert_stop(*, actor: Actor, alert: Alert) -> int:
    """Stop an alert mid-send: whatever was not yet handed to the relay is marked stopped and
    never sent. Messages in flight at this moment finish. Returns how many were stopped."""
    from anshin.delivery.services import delivery_stop

    with transaction.atomic():
        updated = Alert.objects.filter(pk=alert.pk, stopped_at__isnull=True).update(
            stopped_at=timezone.now(), stopped_by=actor.user
        )
        if not updated:
            return 0
        stopped = delivery_stop(alert_id=alert.pk)
        audit_record(actor=actor, action="alert.stop", target=alert, details={"stopped": stopped})
    alert.refresh_from_db()
    return stopped
