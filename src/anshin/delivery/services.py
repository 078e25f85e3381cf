"""Fan-out, sending and reconciliation. Every step re-reads the database and acts only on rows
still in the state it expects, so a lost or repeated task message never loses or doubles a
delivery: the worst case after a crash is a re-send of the few messages in flight.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q, Value
from django.utils import timezone

from anshin.alerts.models import Alert, Category
from anshin.core.audit import SYSTEM, Actor, audit_record
from anshin.delivery import canaries, render
from anshin.delivery.models import (
    BULK_KINDS,
    CanaryMessage,
    Delivery,
    Message,
    Notification,
    SendRecord,
    SendState,
    Suppression,
)
from anshin.delivery.sending import (
    ClaimedRow,
    SendLimits,
    SubscriberRef,
    claim_due,
    drop_stopped_and_expired_rows,
    retry_horizon,
    send_claimed,
)
from anshin.residents.models import ReceiptCheck, ResidentImport, Subscriber

FAN_OUT_CHUNK = 1000  # ids per chunk where ids do pass through Python (bulk notices)
FAN_OUT_FIRST_SPAN = 100  # subscriber ids in the first INSERT … SELECT: a small first batch
FAN_OUT_SPAN = 10_000  # at most this many in each later one (the spans grow fourfold)
REQUEUE_LIMIT = 50_000


# --- Notifications (mail about a resident's own subscription) --------------------------------


def notification_enqueue(*, subscriber: Subscriber, kind: str) -> Notification:
    from anshin.delivery import tasks

    note = Notification.objects.create(subscriber=subscriber, kind=kind, enqueued_at=timezone.now())
    transaction.on_commit(lambda: tasks.send_notification.delay(note.pk))
    return note


def notification_send(*, notification_id: int) -> None:
    claim = claim_due(Notification.objects.filter(pk=notification_id))
    note = Notification.objects.filter(claim=claim).select_related("subscriber").first()
    if note is None:
        return
    row = ClaimedRow(
        note.pk, claim, note.attempts, note.subscriber, bytes(note.subscriber.email_ciphertext)
    )
    send_claimed(
        Notification,
        [row],
        lambda r, addr: render.render_notification(note.kind, note.subscriber, addr),
        limits=SendLimits(horizon=note.created_at + retry_horizon(), expiry=None),
    )


def notifications_create_bulk(
    *,
    kind: str,
    subscriber_ids: list[int],
    resident_import: ResidentImport | None = None,
    receipt_check: ReceiptCheck | None = None,
) -> int:
    """Create one bulk-kind notification per subscriber (at most FAN_OUT_CHUNK ids, inside
    the caller's transaction) and queue their batches on commit. A subscriber who already has
    this notice (same kind, and same check) is skipped by the unique constraints, so a re-run
    or a second scheduler never mails anyone twice. Returns how many this call created."""
    from anshin.delivery import tasks

    assert kind in BULK_KINDS and len(subscriber_ids) <= FAN_OUT_CHUNK
    now = timezone.now()
    fields = {"kind": kind, "resident_import": resident_import, "receipt_check": receipt_check}
    mine = Notification.objects.filter(subscriber_id__in=subscriber_ids, **fields)
    before = mine.count()
    Notification.objects.bulk_create(
        [Notification(subscriber_id=pk, enqueued_at=now, **fields) for pk in subscriber_ids],
        ignore_conflicts=True,
    )
    span = mine.aggregate(lo=models.Min("pk"), hi=models.Max("pk"), n=models.Count("pk"))
    if span["n"]:
        for lo in range(span["lo"], span["hi"] + 1, settings.SEND_BATCH_SIZE):
            hi = min(lo + settings.SEND_BATCH_SIZE - 1, span["hi"])
            transaction.on_commit(partial(tasks.send_notification_batch.delay, lo, hi))
    return int(span["n"]) - before


def notification_send_batch(*, first_id: int, last_id: int) -> None:
    """Claim the due bulk notices of one id range and send them over one connection, each
    kind's text rendered once per batch (per category set or check) and personalised by
    substitution."""
    rows = Notification.objects.filter(pk__gte=first_id, pk__lte=last_id, kind__in=BULK_KINDS)
    _drop_stale_notices(rows)
    claim = claim_due(rows)
    fields = (
        "pk",
        "attempts",
        "kind",
        "receipt_check_id",
        "created_at",
        "subscriber_id",
        "subscriber__token_key",
        "subscriber__email_ciphertext",
    )
    claimed = list(Notification.objects.filter(claim=claim).order_by("pk").values_list(*fields))
    if not claimed:
        return
    plan = _NoticePlan(claimed)
    send_claimed(
        Notification,
        [ClaimedRow(r[0], claim, r[1], SubscriberRef(r[5], r[6]), bytes(r[7])) for r in claimed],
        lambda row, addr: render.render_notice(plan.prepared[row.pk], row.owner, addr),
        limits=SendLimits(horizon=min(r[4] for r in claimed) + retry_horizon(), expiry=None),
    )


def _drop_stale_notices(rows: models.QuerySet[Notification]) -> None:
    """A resident who left (or resumed) after their notice was queued must not get it."""
    Kind = Notification.Kind
    waiting = rows.filter(state=SendState.QUEUED)
    fields = {"state": SendState.STOPPED, "finished_at": timezone.now(), "claim": ""}
    waiting.filter(kind__in=[Kind.MIGRATION, Kind.RECEIPT_CHECK]).exclude(
        subscriber__state=Subscriber.State.ACTIVE
    ).update(**fields)
    waiting.filter(kind=Kind.SUSPENDED).exclude(
        subscriber__state=Subscriber.State.SUSPENDED
    ).update(**fields)


class _NoticePlan:
    """The prepared text of each claimed row: one per (kind, check, category set)."""

    def __init__(self, claimed: list[tuple[Any, ...]]) -> None:
        checks = ReceiptCheck.objects.in_bulk({r[3] for r in claimed if r[3]})
        wanted = [r[5] for r in claimed if r[2] == Notification.Kind.MIGRATION]
        cats = self._categories(wanted)
        cache: dict[tuple[Any, ...], render.PreparedNotice] = {}
        self.prepared: dict[int, render.PreparedNotice] = {}
        for pk, _attempts, kind, check_id, _c, sid, *_rest in claimed:
            chosen = cats.get(sid, ()) if kind == Notification.Kind.MIGRATION else ()
            key = (kind, check_id, tuple(c.pk for c in chosen))
            if key not in cache:
                check = checks.get(check_id) if check_id else None
                cache[key] = render.prepare_notice(kind, categories=list(chosen), check=check)
            self.prepared[pk] = cache[key]

    @staticmethod
    def _categories(subscriber_ids: list[int]) -> dict[int, tuple[Category, ...]]:
        if not subscriber_ids:
            return {}
        through = Subscriber.categories.through.objects.filter(subscriber_id__in=subscriber_ids)
        by_id = {c.pk: c for c in Category.objects.all()}
        chosen: dict[int, list[Category]] = {}
        for sid, cid in through.values_list("subscriber_id", "category_id").order_by(
            "category__sort_order", "category_id"
        ):
            chosen.setdefault(sid, []).append(by_id[cid])
        return {sid: tuple(cats) for sid, cats in chosen.items()}


# --- Alert e-mail ----------------------------------------------------------------------------


def delivery_fan_out(*, delivery_id: int) -> None:
    """Snapshot the recipients into Message rows in id order, in chunks, queueing each chunk's
    batch as soon as it commits so sending starts before the snapshot ends."""
    from anshin.delivery import tasks

    now = timezone.now()
    lease = now + timedelta(seconds=settings.SEND_LEASE_SECONDS)
    started = Delivery.objects.filter(
        Q(state=Delivery.State.PENDING) | Q(state=Delivery.State.FANNING_OUT, leased_until__lt=now),
        pk=delivery_id,
    ).update(state=Delivery.State.FANNING_OUT, leased_until=lease)
    if not started:
        return
    delivery = Delivery.objects.select_related("alert").get(pk=delivery_id)
    for first, last in _snapshot_chunks(delivery):
        tasks.send_batch.delay(delivery.pk, first, last)
    # The test addresses get every alert too (P6), on their own rows — after the residents'
    # batches are queued, so that they never delay the first resident's mail.
    with transaction.atomic():
        canaries.canaries_queue(alert=delivery.alert, round=0)
    total = Message.objects.filter(delivery=delivery).count()
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            state=Delivery.State.SENDING,
            total=total,
            fanned_out_at=timezone.now(),
            leased_until=None,
        )
        audit_record(
            actor=SYSTEM,
            action="delivery.fan_out",
            target=delivery,
            details={"alert": delivery.alert_id, "recipients": total},
        )
    delivery_finish_if_done(delivery_id=delivery.pk)


def _recipients(delivery: Delivery) -> models.QuerySet[Subscriber]:
    """Active subscribers of the alert's category whose address is not suppressed."""
    suppressed = Suppression.objects.filter(address_hash=OuterRef("email_hash"))
    return (
        Subscriber.objects.filter(
            state=Subscriber.State.ACTIVE, categories=delivery.alert.category_id
        )
        .filter(~Exists(suppressed))
        .order_by("pk")
    )


def _snapshot_chunks(delivery: Delivery) -> Iterator[tuple[int, int]]:
    """Copy the recipients into Message rows one span of subscriber ids at a time, and yield
    the (first, last) message ids of each span's batches as soon as it commits.

    One INSERT … SELECT per span: no id passes through Python, and each write transaction
    stays short (tens of milliseconds) so sign-ups never wait long for SQLite's one writer.
    The first span is small so that the first batch is claimed and sent at once; later spans
    grow up to FAN_OUT_SPAN.
    A re-run after a crash inserts only what is missing (the unique constraint) and queues
    the span's batches again, which is harmless: a batch sends only rows still queued.
    """
    # Two look-ups, not one MIN/MAX query: SQLite reads MIN and MAX together by scanning the
    # whole table (a second at a million), each alone from the index.
    ids = Subscriber.objects.order_by("pk").values_list("pk", flat=True)
    first, last = ids.first(), ids.last()
    if first is None or last is None:
        return
    after, width = first - 1, FAN_OUT_FIRST_SPAN
    while after < last:
        upto = after + width
        with transaction.atomic():
            _insert_messages(delivery, after, upto)
        yield from _batches(delivery, after, upto)
        after, width = upto, min(width * 4, FAN_OUT_SPAN)


def _insert_messages(delivery: Delivery, after: int, upto: int) -> None:
    """INSERT … SELECT the recipients with after < id <= upto, in id order. The SELECT is the
    ORM's own (`_recipients`), so who gets an alert is defined in one place."""
    now = timezone.now()
    columns = ("delivery", "subscriber", "state", "attempts", "claim", "smtp_reply")
    select = (
        _recipients(delivery)
        .filter(pk__gt=after, pk__lte=upto)
        .values_list(
            Value(delivery.pk),
            "pk",
            Value(SendState.QUEUED.value),
            Value(0),
            Value(""),
            Value(""),
            Value(now, output_field=models.DateTimeField()),
        )
    )
    sql, params = select.query.sql_with_params()
    quote = connection.ops.quote_name
    fields = {f.name: f for f in Message._meta.concrete_fields}
    names = ", ".join(quote(str(fields[name].column)) for name in (*columns, "enqueued_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Message._meta.db_table)} ({names}) {sql} ON CONFLICT DO NOTHING",
            params,
        )


def _batches(delivery: Delivery, after: int, upto: int) -> Iterator[tuple[int, int]]:
    """The message-id ranges, SEND_BATCH_SIZE wide, of one span's rows."""
    span = Message.objects.filter(
        delivery=delivery, subscriber_id__gt=after, subscriber_id__lte=upto
    ).aggregate(lo=models.Min("pk"), hi=models.Max("pk"))
    if span["lo"] is None:
        return
    for lo in range(span["lo"], span["hi"] + 1, settings.SEND_BATCH_SIZE):
        yield lo, min(lo + settings.SEND_BATCH_SIZE - 1, span["hi"])


def send_batch(*, delivery_id: int, first_id: int, last_id: int) -> None:
    """Claim the due queued messages of one id range and send them over one connection."""
    rows = Message.objects.filter(delivery_id=delivery_id, pk__gte=first_id, pk__lte=last_id)
    delivery = Delivery.objects.select_related("alert__category").get(pk=delivery_id)
    alert = delivery.alert
    if _drop_if_unwanted(alert, rows):
        delivery_finish_if_done(delivery_id=delivery_id)
        return
    claim = claim_due(rows)
    # Only the columns sending needs: building full model instances for every row costs more
    # CPU than rendering the message.
    fields = (
        "pk",
        "attempts",
        "subscriber_id",
        "subscriber__token_key",
        "subscriber__email_ciphertext",
    )
    claimed = [
        ClaimedRow(pk, claim, attempts, SubscriberRef(sid, key), bytes(ciphertext))
        for pk, attempts, sid, key, ciphertext in Message.objects.filter(claim=claim)
        .order_by("pk")
        .values_list(*fields)
    ]
    if claimed:
        prepared = render.prepare_alert(alert)  # once per batch, not per mail
        send_claimed(
            Message,
            claimed,
            lambda row, addr: render.render_prepared(prepared, row.owner, addr),
            limits=SendLimits(
                horizon=delivery.created_at + retry_horizon(), expiry=alert.expires_at
            ),
        )
    delivery_finish_if_done(delivery_id=delivery_id)


def delivery_finish_if_done(*, delivery_id: int) -> None:
    unfinished = Message.objects.filter(
        delivery_id=delivery_id, state__in=[SendState.QUEUED, SendState.SENDING]
    ).exists()
    if not unfinished:
        Delivery.objects.filter(pk=delivery_id, state=Delivery.State.SENDING).update(
            state=Delivery.State.DONE, finished_at=timezone.now()
        )


def delivery_stop(*, alert_id: int) -> int:
    """Mark every message of the alert that is still waiting as stopped (the caller audits).
    Returns how many residents' messages were stopped; the test addresses' stop too."""
    stopped = Message.objects.filter(delivery__alert_id=alert_id, state=SendState.QUEUED).update(
        state=SendState.STOPPED, finished_at=timezone.now(), claim="", leased_until=None
    )
    canaries.drop_unwanted(CanaryMessage.objects.filter(alert_id=alert_id), now=timezone.now())
    for pk in Delivery.objects.filter(alert_id=alert_id).values_list("pk", flat=True):
        Delivery.objects.filter(pk=pk, state=Delivery.State.PENDING).update(
            state=Delivery.State.DONE, finished_at=timezone.now()
        )
        delivery_finish_if_done(delivery_id=pk)
    return stopped


def _drop_if_unwanted(alert: Alert, rows: models.QuerySet[Message]) -> bool:
    """If the alert was stopped or has expired, mark its waiting rows so and say so."""
    now = timezone.now()
    if alert.stopped_at is not None:
        state = SendState.STOPPED
    elif alert.expires_at is not None and alert.expires_at <= now:
        state = SendState.EXPIRED
    else:
        return False
    rows.filter(state=SendState.QUEUED).update(
        state=state, finished_at=now, claim="", leased_until=None
    )
    return True


def drop_stopped_and_expired(now: Any) -> int:
    """Queued messages of stopped alerts are stopped; of expired alerts, expired — never sent
    late. Run by the reconciler, so a retry that comes due after expiry is dropped too."""
    return drop_stopped_and_expired_rows(Message.objects.all(), alert="delivery__alert", now=now)


def delivery_retry_failed(*, delivery: Delivery, actor: Actor) -> int:
    """Put the failed messages of a delivery back in the queue (the console's "retry" action);
    the scheduler's reconciler picks them up."""
    with transaction.atomic():
        count = Message.objects.filter(delivery=delivery, state=SendState.FAILED).update(
            state=SendState.QUEUED, next_attempt_at=None, enqueued_at=None, attempts=0
        )
        if count:
            Delivery.objects.filter(pk=delivery.pk).update(
                state=Delivery.State.SENDING, finished_at=None
            )
        audit_record(
            actor=actor,
            action="delivery.retry_failed",
            target=delivery,
            details={"messages": count},
        )
    return count


# --- Reconciler (run by `anshin scheduler`) ---------------------------------------------------


def reconcile() -> dict[str, int]:
    """Re-queue whatever the database says is unfinished. Safe to run at any time, often."""
    from anshin.delivery import tasks

    now = timezone.now()
    counts = {
        "expired_leases": _release_expired_leases(now),
        "dropped": drop_stopped_and_expired(now),
    }
    pending = list(
        Delivery.objects.filter(
            Q(state=Delivery.State.PENDING)
            | Q(state=Delivery.State.FANNING_OUT, leased_until__lt=now)
        ).values_list("pk", flat=True)
    )
    for pk in pending:
        tasks.fan_out.delay(pk)
    counts["fan_outs"] = len(pending)
    counts["batches"] = _requeue_messages(now)
    counts["notifications"] = _requeue_notifications(now)
    counts["canaries"] = _requeue_canaries(now)
    for pk in Delivery.objects.filter(state=Delivery.State.SENDING).values_list("pk", flat=True):
        delivery_finish_if_done(delivery_id=pk)
    return counts


def _release_expired_leases(now: Any) -> int:
    released = 0
    for model in (Message, Notification, CanaryMessage):
        released += model.objects.filter(state=SendState.SENDING, leased_until__lt=now).update(
            state=SendState.QUEUED, claim="", leased_until=None, enqueued_at=None
        )
    return released


def _due(model: type[SendRecord], now: Any) -> models.QuerySet[Any]:
    """Queued rows that are due and were not handed to the broker in the last minute."""
    return model._default_manager.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        Q(enqueued_at__isnull=True)
        | Q(enqueued_at__lt=now - timedelta(seconds=settings.REQUEUE_AFTER_SECONDS)),
        state=SendState.QUEUED,
    ).order_by("pk")


def _requeue_messages(now: Any) -> int:
    from anshin.delivery import tasks

    rows = list(_due(Message, now).values_list("pk", "delivery_id")[:REQUEUE_LIMIT])
    Message.objects.filter(pk__in=[pk for pk, _ in rows]).update(enqueued_at=now)
    batches = 0
    for delivery_id, ids in _runs(rows, settings.SEND_BATCH_SIZE):
        tasks.send_batch.delay(delivery_id, ids[0], ids[-1])
        batches += 1
    return batches


def _requeue_notifications(now: Any) -> int:
    """Per-row tasks for the mails a resident is waiting for (confirm, complete, already);
    id-range batches on the bulk queue for the bulk kinds."""
    from anshin.delivery import tasks

    due = _due(Notification, now)
    ids = list(due.exclude(kind__in=BULK_KINDS).values_list("pk", flat=True)[:REQUEUE_LIMIT])
    Notification.objects.filter(pk__in=ids).update(enqueued_at=now)
    for pk in ids:
        tasks.send_notification.delay(pk)
    bulk = list(due.filter(kind__in=BULK_KINDS).values_list("pk", flat=True)[:REQUEUE_LIMIT])
    for _key, run in _runs([(pk, 0) for pk in bulk], settings.SEND_BATCH_SIZE):
        # By range, not by a list of ids: a list of 50,000 exceeds SQLite's variable limit.
        due.filter(kind__in=BULK_KINDS, pk__gte=run[0], pk__lte=run[-1]).update(enqueued_at=now)
        tasks.send_notification_batch.delay(run[0], run[-1])
    return len(ids) + len(bulk)


def _requeue_canaries(now: Any) -> int:
    """The test addresses' waiting mail: one task per alert (there are only a few)."""
    from anshin.delivery import canary_tasks

    canaries.drop_unwanted(CanaryMessage.objects.all(), now=now)
    due = _due(CanaryMessage, now)
    alerts = sorted(set(due.values_list("alert_id", flat=True)[:REQUEUE_LIMIT]))
    due.filter(alert_id__in=alerts).update(enqueued_at=now)
    for alert_id in alerts:
        canary_tasks.send_canaries.delay(alert_id)
    return len(alerts)


def _runs(rows: list[tuple[int, int]], size: int) -> Iterator[tuple[int, list[int]]]:
    """Split (id, delivery) rows, in id order, into runs of one delivery of at most `size`."""
    current: list[int] = []
    group = 0
    for pk, key in rows:
        if current and (key != group or len(current) >= size):
            yield group, current
            current = []
        group = key
        current.append(pk)
    if current:
        yield group, current
