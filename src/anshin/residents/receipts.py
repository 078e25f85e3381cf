"""The yearly receipt check (S10): staff schedule it; on the day every active subscriber is
asked to confirm receipt with one tap; after the deadline the policy runs once.

The scheduler drives a check (:func:`receipt_checks_run`, registered in ``periodic.py``). Each
step moves the check forward with a conditional UPDATE of its state or of its ``cursor`` (the
last subscriber id done) in the same transaction as the rows it writes, so two schedulers, or
one restarted half-way, never send twice or skip anyone: the one whose UPDATE matches does the
chunk, the other stops. Work is bounded per run, so a large city does not hold the scheduler.
Nothing is ever deleted by a check.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from anshin.core.audit import RESIDENT, SYSTEM, Actor, audit_record
from anshin.delivery.models import Notification, Suppression
from anshin.delivery.services import FAN_OUT_CHUNK, notifications_create_bulk
from anshin.residents.models import ReceiptCheck, ReceiptConfirmation, Subscriber

State = ReceiptCheck.State
CHUNKS_PER_RUN: Final = 20
OPEN_STATES: Final = (State.SCHEDULED, State.SENDING, State.SENT, State.CLOSING)


class ScheduleRefused(Exception):
    """The check cannot be scheduled or cancelled as asked; the message says why."""


# --- Staff actions ---------------------------------------------------------------------------


def receipt_check_schedule(
    *, send_on: dt.date, deadline: dt.date, policy: str, actor: Actor
) -> ReceiptCheck:
    """Schedule a check: mail goes out on ``send_on`` at RECEIPT_CHECK_SEND_HOUR (Tokyo), and
    confirmations count until the end of ``deadline``."""
    _validate(send_on, deadline, policy)
    with transaction.atomic():
        if ReceiptCheck.objects.filter(state__in=OPEN_STATES).exists():
            raise ScheduleRefused(_("Another receipt check is scheduled or running."))
        check = ReceiptCheck.objects.create(
            send_on=send_on,
            starts_at=_local(send_on, settings.RECEIPT_CHECK_SEND_HOUR),
            deadline=deadline,
            deadline_at=_local(deadline + dt.timedelta(days=1), 0),
            policy=policy,
            created_by=actor.user,
        )
        audit_record(
            actor=actor,
            action="receipt_check.schedule",
            target=check,
            details={"send_on": str(send_on), "deadline": str(deadline), "policy": policy},
        )
    return check


def _validate(send_on: dt.date, deadline: dt.date, policy: str) -> None:
    today = timezone.localdate()
    if policy not in ReceiptCheck.Policy.values:
        raise ScheduleRefused(_("Choose what happens to residents who do not confirm."))
    if send_on < today:
        raise ScheduleRefused(_("The sending date is in the past."))
    if send_on > today + dt.timedelta(days=settings.RECEIPT_CHECK_MAX_LEAD_DAYS):
        raise ScheduleRefused(_("The sending date is more than a year ahead."))
    if not send_on < deadline <= send_on + dt.timedelta(days=settings.RECEIPT_CHECK_MAX_DAYS):
        raise ScheduleRefused(
            _("The deadline must be after the sending date and at most %(days)d days later.")
            % {"days": settings.RECEIPT_CHECK_MAX_DAYS}
        )


def _local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_default_timezone())


def receipt_check_cancel(*, check: ReceiptCheck, actor: Actor) -> None:
    """Cancel a check that has not started; refused once its mail has begun to go out."""
    with transaction.atomic():
        cancelled = ReceiptCheck.objects.filter(pk=check.pk, state=State.SCHEDULED).update(
            state=State.CANCELLED, cancelled_at=timezone.now()
        )
        if not cancelled:
            raise ScheduleRefused(_("Only a check that has not started can be cancelled."))
        audit_record(actor=actor, action="receipt_check.cancel", target=check)


# --- Resident actions ------------------------------------------------------------------------


def receipt_confirm(*, subscriber: Subscriber, check: ReceiptCheck) -> bool:
    """Record that the check's mail reached the resident. True if this call recorded it;
    False if it was recorded before. Only a recipient of an open check can confirm."""
    if not receipt_open_for(subscriber=subscriber, check=check):
        raise ScheduleRefused("closed")
    try:
        with transaction.atomic():
            ReceiptConfirmation.objects.create(
                check_run=check, subscriber=subscriber, confirmed_at=timezone.now()
            )
            audit_record(
                actor=RESIDENT,
                action="receipt_check.confirm",
                target=subscriber,
                details={"check": check.pk},
            )
    except IntegrityError:
        return False
    return True


def receipt_open_for(*, subscriber: Subscriber, check: ReceiptCheck) -> bool:
    return (
        check.state in (State.SENDING, State.SENT)
        and Notification.objects.filter(
            receipt_check=check, kind=Notification.Kind.RECEIPT_CHECK, subscriber=subscriber
        ).exists()
    )


def subscription_resume(*, subscriber: Subscriber) -> bool:
    """Paused → active again, at once. True if this call resumed it."""
    with transaction.atomic():
        resumed = Subscriber.objects.filter(
            pk=subscriber.pk, state=Subscriber.State.SUSPENDED
        ).update(state=Subscriber.State.ACTIVE, suspended_at=None)
        if resumed:
            audit_record(actor=RESIDENT, action="subscription.resume", target=subscriber)
    return bool(resumed)


# --- The scheduler's job ---------------------------------------------------------------------


def receipt_checks_run(now: dt.datetime | None = None) -> dict[str, int]:
    """Start due checks, snapshot their recipients, close checks past their deadline."""
    now = now or timezone.now()
    counts = {"started": 0, "mailed": 0, "closed": 0, "suspended": 0}
    due = ReceiptCheck.objects.filter(state=State.SCHEDULED, starts_at__lte=now)
    for check in due:
        if _start(check, now):
            counts["started"] += 1
    for check in ReceiptCheck.objects.filter(state=State.SENDING):
        counts["mailed"] += _snapshot(check)
    due = ReceiptCheck.objects.filter(state=State.SENT, deadline_at__lte=now)
    for check in due:
        if _begin_close(check):
            counts["closed"] += 1
    for check in ReceiptCheck.objects.filter(state=State.CLOSING):
        counts["suspended"] += _close(check)
    return counts


def _start(check: ReceiptCheck, now: dt.datetime) -> bool:
    with transaction.atomic():
        started = ReceiptCheck.objects.filter(pk=check.pk, state=State.SCHEDULED).update(
            state=State.SENDING, started_at=now
        )
        if started:
            audit_record(actor=SYSTEM, action="receipt_check.start", target=check)
    return bool(started)


def _snapshot(check: ReceiptCheck) -> int:
    """Queue the check's mail to the next chunks of active, unsuppressed subscribers."""
    suppressed = Suppression.objects.filter(address_hash=OuterRef("email_hash"))
    active = Subscriber.objects.filter(state=Subscriber.State.ACTIVE).filter(~Exists(suppressed))
    mailed = 0
    for _chunk in range(CHUNKS_PER_RUN):
        ids = _next_ids(active, check.cursor)
        with transaction.atomic():
            if not _advance(check, State.SENDING, ids):
                return mailed  # another scheduler did this chunk; it goes on from here
            if not ids:
                _finish_sending(check)
                return mailed
            mailed += notifications_create_bulk(
                kind=Notification.Kind.RECEIPT_CHECK, subscriber_ids=ids, receipt_check=check
            )
    return mailed


def _next_ids(rows: Any, after: int) -> list[int]:
    return list(
        rows.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:FAN_OUT_CHUNK]
    )


def _advance(check: ReceiptCheck, state: str, ids: list[int]) -> bool:
    """Move the cursor past ``ids`` if no one else moved it; the claim on a chunk."""
    target = ids[-1] if ids else check.cursor
    moved = ReceiptCheck.objects.filter(pk=check.pk, state=state, cursor=check.cursor).update(
        cursor=target
    )
    check.cursor = target
    return bool(moved)


def _finish_sending(check: ReceiptCheck) -> None:
    total = _recipients(check).count()
    if ReceiptCheck.objects.filter(pk=check.pk, state=State.SENDING).update(
        state=State.SENT, sent_at=timezone.now(), recipients=total, cursor=0
    ):
        audit_record(
            actor=SYSTEM, action="receipt_check.sent", target=check, details={"recipients": total}
        )


def _recipients(check: ReceiptCheck) -> Any:
    return Notification.objects.filter(receipt_check=check, kind=Notification.Kind.RECEIPT_CHECK)


def _begin_close(check: ReceiptCheck) -> bool:
    """Past the deadline: "keep" closes at once; "suspend" goes on to pause non-confirmers."""
    now = timezone.now()
    with transaction.atomic():
        if check.policy == ReceiptCheck.Policy.KEEP:
            closed = ReceiptCheck.objects.filter(pk=check.pk, state=State.SENT).update(
                state=State.CLOSED, closed_at=now
            )
            if closed:
                _audit_policy(check, suspended=0)
            return bool(closed)
        return bool(
            ReceiptCheck.objects.filter(pk=check.pk, state=State.SENT).update(
                state=State.CLOSING, cursor=0
            )
        )


def _close(check: ReceiptCheck) -> int:
    """Pause the next chunks of recipients who neither confirmed nor left, with a notice."""
    confirmed = ReceiptConfirmation.objects.filter(
        check_run=check, subscriber_id=OuterRef("subscriber_id")
    )
    silent = _recipients(check).filter(~Exists(confirmed)).values_list("subscriber_id", flat=True)
    suspended = 0
    for _chunk in range(CHUNKS_PER_RUN):
        ids = list(
            silent.filter(subscriber_id__gt=check.cursor).order_by("subscriber_id")[:FAN_OUT_CHUNK]
        )
        with transaction.atomic():
            if not _advance(check, State.CLOSING, ids):
                return suspended
            if not ids:
                _finish_closing(check)
                return suspended
            suspended += _suspend(check, ids)
    return suspended


def _suspend(check: ReceiptCheck, ids: list[int]) -> int:
    locked = list(
        Subscriber.objects.select_for_update()
        .filter(pk__in=ids, state=Subscriber.State.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Subscriber.objects.filter(pk__in=locked).update(
        state=Subscriber.State.SUSPENDED, suspended_at=timezone.now()
    )
    notifications_create_bulk(
        kind=Notification.Kind.SUSPENDED, subscriber_ids=locked, receipt_check=check
    )
    return len(locked)


def _finish_closing(check: ReceiptCheck) -> None:
    total = Notification.objects.filter(
        receipt_check=check, kind=Notification.Kind.SUSPENDED
    ).count()
    if ReceiptCheck.objects.filter(pk=check.pk, state=State.CLOSING).update(
        state=State.CLOSED, closed_at=timezone.now(), suspended=total
    ):
        _audit_policy(check, suspended=total)


def _audit_policy(check: ReceiptCheck, *, suspended: int) -> None:
    audit_record(
        actor=SYSTEM,
        action="receipt_check.policy",
        target=check,
        details={"policy": check.policy, "suspended": suspended},
    )
