"""A second person's approval, and test sends to the test addresses (P6).

A category may require that each alert is approved by someone other than its author before
it goes out. `alert_submit` is what the console, `anshin alert publish` and the API call: it
publishes at once, or holds the alert until an approver publishes it (`alert_approve`, the
same path as an immediate publish) or sends it back with a reason (`alert_reject`).

A test send (`alert_test_send`) mails an alert to the test addresses only, before anything
goes to residents; `alert_release` then publishes that same alert (or submits it for
approval). An alert that is held, sent back or only tested has no `published_at`, so the
public archive, feeds, CAP and social channels never show it.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.alerts.models import REASON_MAX, Alert, Category
from anshin.alerts.services import (
    CapChoices,
    alert_create,
    alert_fields,
    alert_post_to_channels,
    alert_publish,
    alert_start_sending,
    cap_audit,
)
from anshin.core.audit import Actor, audit_record

APPROVE_PERMISSION = "alerts.approve_alert"


def alert_submit(
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
    """Publish the alert, or, if its category requires approval, hold it for a second person.

    Validation is exactly `alert_publish`'s. A held alert sends nothing and is public nowhere;
    its `state` says which happened.
    """
    if not category.requires_approval:
        return alert_publish(
            actor=actor,
            category=category,
            subject=subject,
            body=body,
            via=via,
            cap=cap,
            subject_en=subject_en,
            body_en=body_en,
        )
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
        alert = alert_create(actor=actor, via=via, state=Alert.State.HELD, fields=fields)
        audit_record(
            actor=actor,
            action="alert.submit",
            target=alert,
            details={"category": category.slug, "via": via, **cap_audit(cap)},
        )
    return alert


def can_decide(user: User, alert: Alert) -> bool:
    """Whether this user may approve or send back this alert (the page's buttons)."""
    return (
        alert.state == Alert.State.HELD
        and user.has_perm(APPROVE_PERMISSION)
        and alert.created_by_id != user.pk
    )


def _check_decider(actor: Actor, alert: Alert) -> User:
    user = actor.user
    if user is None or not user.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied(_("You may not approve alerts."))
    if alert.created_by_id == user.pk:
        raise PermissionDenied(_("An alert is approved by someone other than its author."))
    return user


def alert_approve(*, actor: Actor, alert: Alert) -> bool:
    """Publish a held alert: mail to every subscriber, social posts, public pages. Only a
    user with the approval permission who did not write it may. Returns False if the alert
    was no longer held (approved or sent back meanwhile, e.g. a second click): nothing
    happens then. Audited."""
    user = _check_decider(actor, alert)
    category = Category.objects.get(pk=alert.category_id)
    if not category.active:
        raise ValidationError(_("This category is not in use."), code="inactive")
    now = timezone.now()
    with transaction.atomic():
        approved = Alert.objects.filter(pk=alert.pk, state=Alert.State.HELD).update(
            state=Alert.State.PUBLISHED,
            published_at=now,
            expires_at=now + timedelta(hours=category.expiry_hours),
            decided_by=user,
            decided_at=now,
        )
        if not approved:
            return False
        alert.refresh_from_db()
        audit_record(
            actor=actor, action="alert.approve", target=alert, details={"category": category.slug}
        )
        alert_start_sending(alert=alert)
    alert_post_to_channels(alert=alert)
    return True


def clean_reason(reason: str) -> str:
    """Why an alert is sent back: required, at most REASON_MAX characters, plain text."""
    reason = reason.replace("\r\n", "\n").strip()
    if not reason:
        raise ValidationError(_("Say why the alert is sent back."), code="required")
    if len(reason) > REASON_MAX:
        raise ValidationError(
            _("The reason is too long (at most %(max)d characters).") % {"max": REASON_MAX},
            code="max_length",
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in reason):
        raise ValidationError(_("The reason contains control characters."), code="control")
    return reason


def alert_reject(*, actor: Actor, alert: Alert, reason: str) -> bool:
    """Send a held alert back to its author with a reason; nothing is sent. Same rules as
    approval. Returns False if it was no longer held. Audited (the reason stays on the alert,
    not in the audit log, which holds ids only)."""
    user = _check_decider(actor, alert)
    reason = clean_reason(reason)
    with transaction.atomic():
        rejected = Alert.objects.filter(pk=alert.pk, state=Alert.State.HELD).update(
            state=Alert.State.REJECTED,
            decided_by=user,
            decided_at=timezone.now(),
            reject_reason=reason,
        )
        if not rejected:
            return False
        audit_record(actor=actor, action="alert.reject", target=alert)
    alert.refresh_from_db()
    return True


# --- Test sends to the test addresses (P6) ---------------------------------------------------


def alert_test_send(
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
    """Create the alert unpublished and mail it to the test addresses only (validated as
    `alert_publish` validates). Residents get nothing; `alert_release` sends it for real."""
    from anshin.delivery.canaries import active_canaries

    if not active_canaries().exists():
        raise ValidationError(_("No test addresses are registered."), code="no_canaries")
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
        alert = alert_create(actor=actor, via=via, state=Alert.State.TEST, fields=fields)
        _test_round(actor, alert)
    return alert


def alert_test_send_again(*, actor: Actor, alert: Alert) -> int:
    """Another test send of an alert not yet published (only tested, or held): a new round to
    the test addresses. Returns the round's number."""
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.state not in (Alert.State.TEST, Alert.State.HELD):
            raise ValidationError(
                _("Only an alert not yet sent to residents can be sent as a test."),
                code="state",
            )
        return _test_round(actor, locked)


def _test_round(actor: Actor, alert: Alert) -> int:
    from anshin.delivery.canaries import canaries_queue, next_test_round

    number = next_test_round(alert=alert)
    count = canaries_queue(alert=alert, round=number)
    if not count:
        raise ValidationError(_("No test addresses are registered."), code="no_canaries")
    audit_record(
        actor=actor,
        action="alert.test_send",
        target=alert,
        details={"round": number, "test_addresses": count},
    )
    return number


def alert_release(*, actor: Actor, alert: Alert) -> Alert:
    """After a test send, send the same alert for real: published to everyone, or held for
    approval if its category needs it. A second click finds it no longer in test and does
    nothing."""
    category = Category.objects.get(pk=alert.category_id)
    if not category.active:
        raise ValidationError(_("This category is not in use."), code="inactive")
    held = category.requires_approval
    now = timezone.now()
    with transaction.atomic():
        changes: dict[str, object] = {"state": Alert.State.HELD}
        if not held:
            changes = {
                "state": Alert.State.PUBLISHED,
                "published_at": now,
                "expires_at": now + timedelta(hours=category.expiry_hours),
            }
        if not Alert.objects.filter(pk=alert.pk, state=Alert.State.TEST).update(**changes):
            alert.refresh_from_db()
            return alert
        alert.refresh_from_db()
        action = "alert.submit" if held else "alert.publish"
        details = {"category": category.slug, "via": alert.created_via, "after_test": True}
        audit_record(actor=actor, action=action, target=alert, details=details)
        if not held:
            alert_start_sending(alert=alert)
    if not held:
        alert_post_to_channels(alert=alert)
    return alert


def held_alerts_count() -> int:
    """Alerts waiting for a second person (the console's navigation shows it)."""
    return Alert.objects.filter(state=Alert.State.HELD).count()
