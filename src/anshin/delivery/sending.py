"""Claiming rows and sending them: the machinery shared by alert mail and resident
notifications. A claim is a conditional UPDATE, so it is safe on SQLite (which ignores
skip_locked) and PostgreSQL alike; outcomes are written in chunks, only to rows the claim
still holds."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connection as db_connection
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from anshin.core import crypto
from anshin.core.smtp import SendResult, SmtpConnection, parse_smtp_url
from anshin.delivery import relay, verp
from anshin.delivery.models import Message, SendRecord, SendState
from anshin.residents.models import EMAIL_CONTEXT


def drop_stopped_and_expired_rows(rows: models.QuerySet[Any], *, alert: str, now: Any) -> int:
    """Queued rows of a stopped alert are stopped; of an expired one, expired — never sent
    late. `alert` is the path from the row to its alert (residents' messages reach it through
    their delivery, the test addresses' directly)."""
    waiting = rows.filter(state=SendState.QUEUED)
    fields = {"finished_at": now, "claim": "", "leased_until": None}
    stopped = waiting.filter(**{f"{alert}__stopped_at__isnull": False}).update(
        state=SendState.STOPPED, **fields
    )
    expired = waiting.filter(**{f"{alert}__expires_at__lte": now}).update(
        state=SendState.EXPIRED, **fields
    )
    return stopped + expired


OUTCOME_CHUNK = 20


def claim_due(rows: models.QuerySet[Any]) -> str:
    """Atomically move due queued rows to sending under a fresh claim id and a lease.

    On PostgreSQL the rows are picked with SELECT … FOR UPDATE SKIP LOCKED, so a second
    worker on the same range takes what the first does not hold instead of waiting for it.
    SQLite ignores that clause; there the one writer and the conditional `state = queued` in
    the same statement make two claims of one range disjoint all the same.
    """
    now = timezone.now()
    claim = uuid.uuid4().hex
    due = rows.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), state=SendState.QUEUED
    )
    free = due.order_by("pk").select_for_update(skip_locked=True).values("pk")
    with transaction.atomic():
        rows.model._default_manager.filter(pk__in=free, state=SendState.QUEUED).update(
            state=SendState.SENDING,
            claim=claim,
            leased_until=now + timedelta(seconds=settings.SEND_LEASE_SECONDS),
            attempts=models.F("attempts") + 1,
        )
    return claim


@dataclass(frozen=True)
class SubscriberRef:
    """What a personal link is made from: the subscriber's id and token key, nothing more."""

    pk: int
    token_key: str


OwnerT = TypeVar("OwnerT")


@dataclass(frozen=True)
class ClaimedRow(Generic[OwnerT]):
    """A claimed row, as sending needs it. `owner` is what the builder personalises the mail
    from (a SubscriberRef or Subscriber for residents' mail); `context` is the encryption
    context of the address's column: a resident's by default, a staff member's for call-outs."""

    pk: int
    claim: str
    attempts: int
    owner: OwnerT
    ciphertext: bytes
    context: bytes = EMAIL_CONTEXT

    @property
    def address(self) -> str:
        return crypto.decrypt(self.ciphertext, context=self.context)


@dataclass(frozen=True)
class SendLimits:
    horizon: Any  # give up retrying (failed) after this
    expiry: Any  # or drop (expired) once past the alert's expiry, whichever comes first


def retry_horizon() -> timedelta:
    return timedelta(seconds=settings.RETRY_HORIZON_SECONDS)


def send_claimed(
    model: type[SendRecord],
    records: list[ClaimedRow[Any]],
    build: Callable[[ClaimedRow[Any], str], bytes],
    *,
    limits: SendLimits,
) -> None:
    """Send claimed rows over SEND_CONNECTIONS connections at once, one thread each.

    Most of a message's time is spent waiting for the relay's replies; a few connections per
    worker process keep the relay busy without the memory of more processes. Each connection
    gets one run of the rows in id order (its lease is renewed by id range).
    """
    records = sorted(records, key=lambda record: record.pk)
    width = max(1, min(settings.SEND_CONNECTIONS, len(records) // OUTCOME_CHUNK))
    if width == 1:
        _send_over_one_connection(model, records, build, limits)
        return
    size = -(-len(records) // width)
    slices = [records[i : i + size] for i in range(0, len(records), size)]
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_in_thread, args=(errors, model, part, build, limits))
        for part in slices
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _in_thread(
    errors: list[BaseException],
    model: type[SendRecord],
    records: list[ClaimedRow[Any]],
    build: Callable[[ClaimedRow[Any], str], bytes],
    limits: SendLimits,
) -> None:
    try:
        _send_over_one_connection(model, records, build, limits)
    except BaseException as exc:  # re-raised in the task's own thread
        errors.append(exc)
    finally:
        db_connection.close()  # each thread has its own database connection


def _send_over_one_connection(
    model: type[SendRecord],
    records: list[ClaimedRow[Any]],
    build: Callable[[ClaimedRow[Any], str], bytes],
    limits: SendLimits,
) -> None:
    try:
        with relay.relay_slot() as pacer:
            _send_paced(model, records, build, limits, pacer)
    except relay.NoSlot:
        # Every relay connection is in use elsewhere: hand the rows back to the queue, and
        # the scheduler offers them again shortly.
        model._default_manager.filter(
            pk__in=[r.pk for r in records], claim=records[0].claim, state=SendState.SENDING
        ).update(
            state=SendState.QUEUED,
            claim="",
            leased_until=None,
            enqueued_at=None,
            attempts=F("attempts") - 1,
        )


def _send_paced(
    model: type[SendRecord],
    records: list[ClaimedRow[Any]],
    build: Callable[[ClaimedRow[Any], str], bytes],
    limits: SendLimits,
    pacer: relay.Pacer,
) -> None:
    config = parse_smtp_url(settings.SMTP_URL)
    sender = verp.verp_sender(_verp_kind(model))
    lease = _Lease(model, records, pacer)
    with SmtpConnection(config) as connection:
        for start in range(0, len(records), OUTCOME_CHUNK):
            chunk = lease.held(start, OUTCOME_CHUNK)
            if not chunk:
                continue
            # VERP: a bounce comes back to an address that names the row, never the recipient.
            outgoing = []
            for record in chunk:
                address = record.address
                outgoing.append((sender(record.pk), address, build(record, address)))
            results = _send_chunk(connection, outgoing, pacer)
            _record_outcomes(model, chunk, results, limits)


# One dropped connection is retried on a fresh one with the next message; when that fails
# too the relay is down, and the rest of the batch waits for the retry instead of each
# message paying its own connection timeout.
GIVE_UP_AFTER = 2


def _send_chunk(
    connection: SmtpConnection, outgoing: list[tuple[str, str, bytes]], pacer: relay.Pacer
) -> list[SendResult]:
    """Unpaced, the chunk goes out pipelined across messages; paced (a rate ceiling), one
    message at a time, each waiting its turn."""
    if pacer.interval <= 0:
        return connection.send_many(outgoing, give_up_after=GIVE_UP_AFTER)
    results: list[SendResult] = []
    for item in outgoing:
        if not connection.relay_unreachable(GIVE_UP_AFTER):
            pacer.wait()
        results += connection.send_many([item], give_up_after=GIVE_UP_AFTER)
    return results


class _Lease:
    """One connection's hold on its claimed rows while it sends them.

    A batch on a slow or rate-limited relay can outlast the lease it was claimed with; the
    reconciler then hands its unsent rows to another worker. So before the first chunk, and
    again whenever a third of the lease has passed, the lease of every row still to be sent
    is renewed, and a row this claim lost is left out (never sent a second time). In between
    no row can be lost — the reconciler takes back only rows past their lease, and two
    thirds of it are still ahead — so a chunk costs one statement (its outcomes), not two.
    """

    def __init__(
        self, model: type[SendRecord], records: list[ClaimedRow[Any]], pacer: relay.Pacer
    ) -> None:
        self.model, self.records, self.pacer = model, records, pacer
        self.kept: set[int] | None = None  # None: every row is still held
        self.renew_at = 0.0  # time.monotonic() of the next renewal; 0: before the first chunk

    def held(self, start: int, size: int) -> list[ClaimedRow[Any]]:
        """The rows of records[start:start + size] this claim still holds."""
        if time.monotonic() >= self.renew_at:
            self._renew(self.records[start:])
        chunk = self.records[start : start + size]
        if self.kept is None:
            return chunk
        return [record for record in chunk if record.pk in self.kept]

    def _renew(self, rest: list[ClaimedRow[Any]]) -> None:
        seconds = settings.SEND_LEASE_SECONDS
        self.renew_at = time.monotonic() + seconds / 3
        # The rows a connection sends are one run of the batch's claimed ids, so an id range
        # and the claim pick exactly them, without a list of up to a batch of ids.
        held = self.model._default_manager.filter(
            claim=rest[0].claim, state=SendState.SENDING, pk__gte=rest[0].pk, pk__lte=rest[-1].pk
        )
        if held.update(leased_until=timezone.now() + timedelta(seconds=seconds)) != len(rest):
            self.kept = set(held.values_list("pk", flat=True))
        if self.pacer.renew is not None:
            self.pacer.renew()


def _verp_kind(model: type[SendRecord]) -> verp.Kind:
    """`m` for alert mail, a model's own VERP_KIND (call-out mail: `c`), else `n`."""
    if model is Message:
        return "m"
    kind: verp.Kind = getattr(model, "VERP_KIND", "n")
    return kind


def _record_outcomes(
    model: type[SendRecord],
    records: list[ClaimedRow[Any]],
    results: list[SendResult],
    limits: SendLimits,
) -> None:
    """Write a chunk's outcomes in one UPDATE, only to rows this claim still holds.

    Plain SQL, not a queryset update: the ORM took longer to build this statement (a CASE
    per column that differs, e.g. the relay's queue id in each reply) than the relay took
    to accept the twenty messages."""
    now = timezone.now()
    per_row = {
        r.pk: _outcome_fields(r.attempts, res, now, limits)
        for r, res in zip(records, results, strict=True)
    }
    pk = _quoted(model._meta.pk)
    assignments, params = [], []
    for name in sorted({name for fields in per_row.values() for name in fields}):
        sql, values = _assignment(name, per_row, pk)
        assignments.append(sql)
        params += values
    with db_connection.cursor() as cursor:
        cursor.execute(
            _update_sql(model, ", ".join(assignments), len(per_row)),
            [*params, *per_row, records[0].claim, SendState.SENDING.value],
        )


def _update_sql(model: type[SendRecord], assignments: str, rows: int) -> str:
    table = db_connection.ops.quote_name(model._meta.db_table)
    pk, claim, state = (_quoted(f) for f in (model._meta.pk, _FIELDS["claim"], _FIELDS["state"]))
    where = f"{pk} IN ({', '.join(['%s'] * rows)}) AND {claim} = %s AND {state} = %s"
    return f"UPDATE {table} SET {assignments} WHERE {where}"  # noqa: S608 - model's names


def _assignment(name: str, per_row: dict[int, dict[str, Any]], pk: str) -> tuple[str, list[Any]]:
    """`column = %s` when every row gets the same value, else a CASE over the primary keys;
    a row without the field keeps its current value."""
    field = _FIELDS[name]
    column = _quoted(field)
    values = [fields.get(name, _KEEP) for fields in per_row.values()]
    if _KEEP not in values and len(set(values)) == 1:
        return f"{column} = %s", [field.get_db_prep_save(values[0], db_connection)]
    whens = [(key, fields[name]) for key, fields in per_row.items() if name in fields]
    params: list[Any] = []
    for key, value in whens:
        params += [key, field.get_db_prep_save(value, db_connection)]
    cases = " ".join(["WHEN %s THEN %s"] * len(whens))
    return f"{column} = CASE {pk} {cases} ELSE {column} END", params


def _quoted(field: Any) -> str:
    """The quoted column of a concrete field (which always has one)."""
    return db_connection.ops.quote_name(str(field.column))


_KEEP = object()
_FIELDS = {f.name: f for f in SendRecord._meta.fields}


def _outcome_fields(
    attempts: int, result: SendResult, now: Any, limits: SendLimits
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "smtp_code": result.code or None,
        "smtp_reply": result.reply,
        "claim": "",
        "leased_until": None,
    }
    if result.outcome == "accepted":
        return {**fields, "state": SendState.ACCEPTED, "finished_at": now}
    if result.outcome == "permanent":
        return {**fields, "state": SendState.FAILED, "finished_at": now}
    next_at = now + _backoff(attempts)
    if limits.expiry is not None and next_at > limits.expiry:
        return {**fields, "state": SendState.EXPIRED, "finished_at": now}
    if next_at > limits.horizon:
        return {**fields, "state": SendState.FAILED, "finished_at": now}
    return {
        **fields,
        "state": SendState.QUEUED,
        "next_attempt_at": next_at,
        "enqueued_at": None,
    }


def _backoff(attempts: int) -> timedelta:
    seconds = settings.RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.RETRY_MAX_SECONDS))
