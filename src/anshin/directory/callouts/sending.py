"""Call-out mail and SMS through the delivery engine's state machine.

Mail rows are claimed with ``claim_due`` and sent with ``send_claimed`` (the relay slots,
pacing, retries with backoff and VERP letter ``c`` of alert mail). SMS rows go through the
same claim and the same states, sent one by one through :mod:`anshin.core.sms`; the gateway's
short reason is kept in ``smtp_reply`` (the engine's "reply" column). Reminder rows still
waiting when the reply deadline passes are expired, never sent late. The reconciler (a
periodic job) re-queues rows whose task was lost or whose worker died.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from anshin.core import crypto, sms
from anshin.core.sms import SmsResult
from anshin.delivery.models import SendState
from anshin.delivery.sending import (
    ClaimedRow,
    SendLimits,
    claim_due,
    retry_horizon,
    send_claimed,
)
from anshin.directory.callouts import messages
from anshin.directory.models import EMAIL_CONTEXT, PHONE_CONTEXT
from anshin.directory.models_callout import Callout, CalloutSend

log = logging.getLogger(__name__)

REQUEUE_LIMIT: Final = 20_000
EMAIL = CalloutSend.Channel.EMAIL
SMS = CalloutSend.Channel.SMS


class Owner(NamedTuple):
    """What one staff mail is personalised with: the recipient's token nonce and the round."""

    nonce: str
    round: int


# --- queueing --------------------------------------------------------------------------------


def queue_round(*, callout_id: int, round: int) -> None:
    """Queue one round's rows in id ranges, a task per range and channel."""
    rows = CalloutSend.objects.filter(callout_id=callout_id, round=round, state=SendState.QUEUED)
    for channel in (EMAIL, SMS):
        ids = list(rows.filter(channel=channel).order_by("pk").values_list("pk", flat=True))
        _queue(callout_id, channel, ids)


def _queue(callout_id: int, channel: str, ids: list[int]) -> int:
    from anshin.directory import tasks

    task = tasks.send_mail if channel == EMAIL else tasks.send_sms
    size = settings.SEND_BATCH_SIZE
    for start in range(0, len(ids), size):
        part = ids[start : start + size]
        task.delay(callout_id, part[0], part[-1])
    return -(-len(ids) // size)


# --- mail ------------------------------------------------------------------------------------


def callout_send_mail(*, callout_id: int, first_id: int, last_id: int) -> None:
    callout = Callout.objects.get(pk=callout_id)
    rows = _rows(callout, EMAIL, first_id, last_id)
    claim = claim_due(rows)
    fields = (
        "pk",
        "attempts",
        "recipient__token_nonce",
        "round",
        "recipient__member__email_ciphertext",
    )
    claimed = [
        ClaimedRow(pk, claim, attempts, Owner(nonce, rnd), bytes(cipher), context=EMAIL_CONTEXT)
        for pk, attempts, nonce, rnd, cipher in CalloutSend.objects.filter(claim=claim)
        .order_by("pk")
        .values_list(*fields)
    ]
    if not claimed:
        return
    send_claimed(
        CalloutSend,
        claimed,
        lambda row, address: messages.render_mail(
            callout, nonce=row.owner.nonce, round=row.owner.round, address=address
        ),
        limits=SendLimits(horizon=callout.sent_at + retry_horizon(), expiry=None),
    )


def _rows(callout: Callout, channel: str, first_id: int, last_id: int) -> QuerySet[CalloutSend]:
    """The range's rows of this channel, after expiring reminders past the deadline."""
    rows = CalloutSend.objects.filter(
        callout=callout, channel=channel, pk__gte=first_id, pk__lte=last_id
    )
    if callout.reply_deadline is not None and callout.reply_deadline <= timezone.now():
        _expire(rows.filter(round__gt=0, state=SendState.QUEUED), timezone.now())
    return rows


def _expire(rows: QuerySet[CalloutSend], now: datetime) -> int:
    return rows.update(state=SendState.EXPIRED, finished_at=now, claim="", leased_until=None)


# --- SMS -------------------------------------------------------------------------------------


def callout_send_sms(*, callout_id: int, first_id: int, last_id: int) -> None:
    callout = Callout.objects.get(pk=callout_id)
    claim = claim_due(_rows(callout, SMS, first_id, last_id))
    fields = (
        "pk",
        "attempts",
        "recipient__token_nonce",
        "round",
        "recipient__member__phone_ciphertext",
    )
    claimed = CalloutSend.objects.filter(claim=claim).order_by("pk").values_list(*fields)
    for pk, attempts, nonce, rnd, cipher in claimed:
        if not sms.sms_configured():
            result = SmsResult(outcome="permanent", detail="SMS not configured")
        else:
            text = messages.sms_text(callout, nonce=nonce, round=rnd)
            result = _sms_send(crypto.decrypt(bytes(cipher), context=PHONE_CONTEXT), text)
        _record_sms(pk, claim, attempts, result, callout)


def _sms_send(phone: str, text: str) -> SmsResult:
    try:
        return sms.sms_send(phone=phone, text=text)
    except Exception as exc:  # a gateway library error: retried, never the phone number logged
        log.warning("SMS send raised %s; will retry", type(exc).__name__)
        return SmsResult(outcome="temporary", detail=type(exc).__name__)


def _record_sms(pk: int, claim: str, attempts: int, result: SmsResult, callout: Callout) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {"smtp_reply": result.detail[:500], "claim": "", "leased_until": None}
    if result.outcome == "accepted":
        fields.update(state=SendState.ACCEPTED, finished_at=now)
    elif result.outcome == "permanent" or now + _backoff(attempts) > _horizon(callout):
        fields.update(state=SendState.FAILED, finished_at=now)
    else:
        fields.update(
            state=SendState.QUEUED, next_attempt_at=now + _backoff(attempts), enqueued_at=None
        )
    CalloutSend.objects.filter(pk=pk, claim=claim, state=SendState.SENDING).update(**fields)


def _horizon(callout: Callout) -> datetime:
    return callout.sent_at + retry_horizon()


def _backoff(attempts: int) -> timedelta:
    seconds = settings.RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.RETRY_MAX_SECONDS))


# --- reconciler ------------------------------------------------------------------------------


def callout_reconcile() -> dict[str, int]:
    """Re-queue what the database says is unfinished: rows past their lease, due retries,
    rows whose task message was lost. Safe to run at any time, often."""
    now = timezone.now()
    released = CalloutSend.objects.filter(state=SendState.SENDING, leased_until__lt=now).update(
        state=SendState.QUEUED, claim="", leased_until=None, enqueued_at=None
    )
    expired = _expire(
        CalloutSend.objects.filter(
            state=SendState.QUEUED, round__gt=0, callout__reply_deadline__lte=now
        ),
        now,
    )
    return {"released": released, "expired": expired, "batches": _requeue(now)}


def _requeue(now: datetime) -> int:
    stale = now - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS)
    due = CalloutSend.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale),
        state=SendState.QUEUED,
    )
    rows = list(due.order_by("pk").values_list("pk", "callout_id", "channel")[:REQUEUE_LIMIT])
    CalloutSend.objects.filter(pk__in=[r[0] for r in rows]).update(enqueued_at=now)
    groups: dict[tuple[int, str], list[int]] = {}
    for pk, callout_id, channel in rows:
        groups.setdefault((callout_id, channel), []).append(pk)
    return sum(_queue(callout_id, channel, ids) for (callout_id, channel), ids in groups.items())


def unfinished(callout: Callout) -> bool:
    return CalloutSend.objects.filter(
        callout=callout, state__in=[SendState.QUEUED, SendState.SENDING]
    ).exists()
