"""Authoring and publishing alerts (S7)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.alerts.models import (
    BODY_MAX,
    SUBJECT_MAX,
    Alert,
    CapCertainty,
    CapMsgType,
    CapSeverity,
    CapStatus,
    CapUrgency,
    Category,
)
from anshin.core.audit import Actor, audit_record
from anshin.delivery.models import Delivery


def _not_xml(ch: str) -> bool:
    """Characters XML 1.0 cannot carry (surrogates, U+FFFE/U+FFFF and the other
    noncharacters): refused, because the alert must stay publishable as Atom, RSS and CAP."""
    code = ord(ch)
    return unicodedata.category(ch) == "Cs" or 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def clean_subject(subject: str) -> str:
    """A subject is one line: CR, LF and other control characters are refused, not stripped,
    so that what staff see in the preview is exactly what is sent."""
    subject = subject.strip()
    if not subject:
        raise ValidationError(_("Enter a subject."), code="required")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or _not_xml(ch) for ch in subject):
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
    if any((unicodedata.category(ch) == "Cc" and ch not in "\n\t") or _not_xml(ch) for ch in body):
        raise ValidationError(_("The message contains control characters."), code="control")
    if len(body) > BODY_MAX:
        raise ValidationError(
            _("The message is too long (at most %(max)d characters).") % {"max": BODY_MAX},
            code="max_length",
        )
    return body


@dataclass(frozen=True)
class CapChoices:
    """What staff choose for the CAP message of an alert. None means the category's default."""

    status: str = CapStatus.ACTUAL
    urgency: str | None = None
    severity: str | None = None
    certainty: str | None = None
    msg_type: str = CapMsgType.ALERT
    references: Alert | None = None


def alert_publish(
    *,
    actor: Actor,
    category: Category,
    subject: str,
    body: str,
    via: str,
    cap: CapChoices | None = None,
    subject_en: str = "",
    body_en: str = "",
) -> Alert:
    """Create and publish an alert at once: one e-mail Delivery, fanned out after commit.

    If the commit succeeds but the task message is lost, the scheduler's reconciler finds the
    pending delivery and queues it again. The CAP fields default to the category's; an English
    version is optional but, when given, needs both a subject and a message. Staff, the
    command line and the API call `alert_submit`, which holds the alert instead when its
    category needs a second person's approval.
    """
    cap = cap or CapChoices()
    fields = alert_fields(
        category=category,
        subject=subject,
        body=body,
        cap=cap,
        subject_en=subject_en,
        body_en=body_en,
    )
    with transaction.atomic():
        alert = alert_create(actor=actor, via=via, state=Alert.State.PUBLISHED, fields=fields)
        audit_record(
            actor=actor,
            action="alert.publish",
            target=alert,
            details={"category": category.slug, "via": via, **cap_audit(cap)},
        )
        alert_start_sending(alert=alert)
    alert_post_to_channels(alert=alert)
    return alert


def alert_fields(
    *,
    category: Category,
    subject: str,
    body: str,
    cap: CapChoices,
    subject_en: str,
    body_en: str,
) -> dict[str, object]:
    """The validated columns of a new alert: every way of writing one checks exactly this."""
    subject, body = clean_subject(subject), clean_body(body)
    subject_en, body_en = clean_english(subject_en, body_en)
    _check_cap(category, cap)
    if not category.active:
        raise ValidationError(_("This category is not in use."), code="inactive")
    return {
        "category": category,
        "subject": subject,
        "body": body,
        "subject_en": subject_en,
        "body_en": body_en,
        **_cap_fields(category, cap),
    }


def alert_create(*, actor: Actor, via: str, state: str, fields: dict[str, object]) -> Alert:
    """The row (inside the caller's transaction). Only a published alert has `published_at`;
    the expiry of any other is counted from now for its test sends, and again from the moment
    it is published."""
    category = fields["category"]
    assert isinstance(category, Category)
    now = timezone.now()
    return Alert.objects.create(
        state=state,
        created_via=via,
        created_by=actor.user,
        published_at=now if state == Alert.State.PUBLISHED else None,
        expires_at=now + timedelta(hours=category.expiry_hours),
        **fields,
    )


def alert_start_sending(*, alert: Alert) -> None:
    """The e-mail Delivery of a just-published alert, fanned out once the caller's
    transaction commits. The one way mail to residents starts, whether the alert was
    published at once or approved by a second person."""
    from anshin.delivery import tasks

    delivery = Delivery.objects.create(alert=alert, channel="email")
    transaction.on_commit(lambda: tasks.fan_out.delay(delivery.pk))


def alert_post_to_channels(*, alert: Alert) -> None:
    """The social posts of a just-published alert, after its commit: a failing channel never
    undoes the publish. Imported only now: loading the social channels' code (Apprise) must
    not delay the mail."""
    from anshin.channels import services as channel_posts

    channel_posts.alert_posts_create(alert=alert)


def clean_english(subject_en: str, body_en: str) -> tuple[str, str]:
    """The optional English version: both parts or neither."""
    if not subject_en.strip() and not body_en.strip():
        return "", ""
    if not subject_en.strip() or not body_en.strip():
        raise ValidationError(
            _("Give the English version both a subject and a message, or leave both empty."),
            code="english_incomplete",
        )
    return clean_subject(subject_en), clean_body(body_en)


def _check_cap(category: Category, cap: CapChoices) -> None:
    """Refuse values CAP does not know, and a follow-up without (or with a wrong) original."""
    for value, choices in (
        (cap.status, CapStatus),
        (cap.msg_type, CapMsgType),
        (cap.urgency or category.cap_urgency, CapUrgency),
        (cap.severity or category.cap_severity, CapSeverity),
        (cap.certainty or category.cap_certainty, CapCertainty),
    ):
        if value not in choices.values:
            raise ValidationError(
                _("Unknown CAP value: %(value)s"), params={"value": value}, code="cap"
            )
    original = cap.references
    if (cap.msg_type == CapMsgType.ALERT) != (original is None):
        raise ValidationError(
            _("An update or cancellation refers to the alert it corrects; a new alert does not."),
            code="references",
        )
    if original is not None and (original.published_at is None or original.category != category):
        raise ValidationError(
            _("An update or cancellation goes to the same category as the published original."),
            code="references",
        )


def cap_audit(cap: CapChoices) -> dict[str, object]:
    """What sets the alert apart from an ordinary one (a drill, a correction) for the audit."""
    details: dict[str, object] = {}
    if cap.status != CapStatus.ACTUAL:
        details["status"] = cap.status
    if cap.references is not None:
        details.update(msg_type=cap.msg_type, references=cap.references.pk)
    return details


def _cap_fields(category: Category, cap: CapChoices) -> dict[str, object]:
    return {
        "status": cap.status,
        "msg_type": cap.msg_type,
        "references": cap.references,
        "cap_categories": category.cap_categories,
        "urgency": cap.urgency or category.cap_urgency,
        "severity": cap.severity or category.cap_severity,
        "certainty": cap.certainty or category.cap_certainty,
    }


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
