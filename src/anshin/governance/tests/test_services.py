"""The retention purge: what expires goes (or is reduced to its keyed hash), what is recent,
in flight or still referenced stays, each run is counted on a signed certificate, and the
nightly job runs once a day however many schedulers tick."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from anshin.conftest import make_subscriber
from anshin.core import crypto
from anshin.core.audit import OPERATOR, SYSTEM, audit_record, audit_verify
from anshin.core.models import AuditEvent
from anshin.delivery.models import Bounce, Message, Notification, SendState, Suppression
from anshin.governance.models import Certificate, PurgeRun
from anshin.governance.services import retention_daily, retention_preview, retention_purge
from anshin.governance.tests.factories import (
    alert_message,
    bounce,
    days_ago,
    notification,
    subscriber_dated,
)
from anshin.residents.models import MailBudget, Subscriber

TOKYO = ZoneInfo("Asia/Tokyo")
State = Subscriber.State


def _unsubscribed(address: str, age: float, cats: Any) -> Subscriber:
    sub = make_subscriber(address, cats["bousai"], state=State.UNSUBSCRIBED)
    return subscriber_dated(sub, unsubscribed_at=days_ago(age))


@pytest.mark.django_db
def test_an_old_unsubscribed_address_is_reduced_to_its_keyed_hash(categories: Any) -> None:
    old = _unsubscribed("old.taro@docomo.ne.jp", 31, categories)
    recent = _unsubscribed("recent@example.jp", 29, categories)
    counts = retention_purge(actor=OPERATOR)
    old.refresh_from_db()
    recent.refresh_from_db()
    assert counts["unsubscribed"] == 1
    assert bytes(old.email_ciphertext) == b""
    assert old.email_hash == crypto.lookup_hash("old.taro@docomo.ne.jp")
    assert (old.state, list(old.categories.all())) == (State.UNSUBSCRIBED, [])
    assert recent.email == "recent@example.jp"
    assert list(recent.categories.all()) == [categories["bousai"]]
    certificate = Certificate.objects.get(kind="unsubscribed")
    assert (certificate.count, certificate.content["action"]) == (1, "reduced_to_keyed_hash")
    assert certificate.pdf_sha256 and bytes(certificate.pdf).startswith(b"%PDF-")


@pytest.mark.django_db
def test_a_long_paused_address_is_reduced_and_can_no_longer_be_resumed(categories: Any) -> None:
    paused = make_subscriber("paused@example.jp", categories["bouhan"], state=State.SUSPENDED)
    subscriber_dated(paused, suspended_at=days_ago(91))
    retention_purge(actor=OPERATOR)
    paused.refresh_from_db()
    assert (paused.state, bytes(paused.email_ciphertext)) == (State.UNSUBSCRIBED, b"")


@pytest.mark.django_db
def test_an_address_with_mail_in_flight_is_not_reduced(categories: Any) -> None:
    sub = _unsubscribed("inflight@example.jp", 40, categories)
    alert_message(sub, categories["bousai"], age=0, state=SendState.QUEUED)
    assert retention_purge(actor=OPERATOR)["unsubscribed"] == 0
    sub.refresh_from_db()
    assert sub.email == "inflight@example.jp"


@pytest.mark.django_db
def test_a_never_confirmed_registration_is_deleted_with_its_confirmation_mail(
    categories: Any,
) -> None:
    lapsed = make_subscriber("lapsed@example.jp", categories["bousai"], state=State.PENDING)
    subscriber_dated(lapsed, created_at=days_ago(8))
    note = notification(lapsed, age=8)
    bounced = Bounce.objects.create(
        address_hash=lapsed.email_hash, kind="hard", received_at=days_ago(8), notification=note
    )
    fresh = make_subscriber("fresh@example.jp", categories["bousai"], state=State.PENDING)
    assert retention_purge(actor=OPERATOR)["pending"] == 1
    assert list(Subscriber.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not Notification.objects.filter(pk=note.pk).exists()
    bounced.refresh_from_db()
    assert bounced.notification_id is None


@pytest.mark.django_db
def test_a_lapsed_re_registration_keeps_its_history_and_loses_its_address(
    categories: Any,
) -> None:
    again = make_subscriber("again@example.jp", categories["bousai"], state=State.PENDING)
    subscriber_dated(again, created_at=days_ago(300), confirmed_at=days_ago(299))
    kept = alert_message(again, categories["bousai"], age=100, state=SendState.ACCEPTED)
    notification(again, age=9)
    retention_purge(actor=OPERATOR)
    again.refresh_from_db()
    assert (again.state, bytes(again.email_ciphertext)) == (State.UNSUBSCRIBED, b"")
    assert Message.objects.filter(pk=kept.pk).exists()


@pytest.mark.django_db
def test_a_pending_registration_asked_again_recently_stays(categories: Any) -> None:
    sub = make_subscriber("asked@example.jp", categories["bousai"], state=State.PENDING)
    subscriber_dated(sub, created_at=days_ago(30))
    notification(sub, age=1)
    assert retention_purge(actor=OPERATOR)["pending"] == 0
    sub.refresh_from_db()
    assert sub.email == "asked@example.jp"


@pytest.mark.django_db
def test_old_delivery_records_go_and_recent_or_unfinished_ones_stay(
    categories: Any, settings: Any
) -> None:
    settings.RETENTION_BATCH = 2  # several batches
    sub = make_subscriber("reader@example.jp", categories["bousai"])
    old = [alert_message(sub, categories["bousai"], age=401, state="accepted") for _ in range(3)]
    stuck = alert_message(sub, categories["bousai"], age=500, state=SendState.SENDING)
    recent = alert_message(sub, categories["bousai"], age=399, state="failed")
    old_bounce = bounce(old[0], age=401)
    Suppression.objects.create(address_hash=sub.email_hash, reason="hard_bounce", message=old[0])
    old_note, new_note = notification(sub, age=401, kind="complete"), notification(sub, age=2)
    counts = retention_purge(actor=OPERATOR)
    assert counts["delivery"] == 5
    assert set(Message.objects.values_list("pk", flat=True)) == {stuck.pk, recent.pk}
    assert list(Notification.objects.values_list("pk", flat=True)) == [new_note.pk]
    assert not Bounce.objects.filter(pk=old_bounce.pk).exists()
    assert Suppression.objects.get().message_id is None  # the suppression itself stays
    assert old_note.pk not in Notification.objects.values_list("pk", flat=True)
    certificate = Certificate.objects.get(kind="delivery")
    assert certificate.breakdown == {"messages": 3, "notifications": 1, "bounces": 1}
    assert certificate.records_to is not None and certificate.records_to < days_ago(400)


@pytest.mark.django_db
def test_throttle_records_older_than_two_days_are_deleted() -> None:
    for age, key in ((3, "a" * 64), (1, "b" * 64)):
        t = days_ago(age)
        MailBudget.objects.create(address_hash=key, window_start=t, last_sent_at=t, count=1)
    assert retention_purge(actor=OPERATOR)["throttle"] == 1
    assert list(MailBudget.objects.values_list("address_hash", flat=True)) == ["b" * 64]


@pytest.mark.django_db
def test_intake_drafts_older_than_ninety_days_are_deleted() -> None:
    from anshin.inbound.models import IntakeDraft

    old, new = (
        IntakeDraft.objects.create(
            subject=s, body="山田太郎さんを探しています", forwarded_by="p@x.jp"
        )
        for s in ("old", "new")
    )
    IntakeDraft.objects.filter(pk=old.pk).update(received_at=days_ago(91))
    IntakeDraft.objects.filter(pk=new.pk).update(received_at=days_ago(89))
    assert retention_purge(actor=OPERATOR)["intake"] == 1
    assert list(IntakeDraft.objects.values_list("subject", flat=True)) == ["new"]
    assert Certificate.objects.get(kind="intake").breakdown == {"drafts": 1}


@pytest.mark.django_db
def test_old_audit_entries_are_purged_behind_a_checkpoint_and_the_chain_verifies() -> None:
    old = [audit_record(actor=SYSTEM, action="test.old") for _ in range(3)]
    AuditEvent.objects.filter(pk__in=[e.pk for e in old]).update(at=days_ago(1900))
    # The hash covers `at`: re-date as the records would have been written back then.
    _rehash_all()
    audit_record(actor=SYSTEM, action="test.new")
    counts = retention_purge(actor=OPERATOR)
    assert counts["audit"] == 3
    checkpoint = AuditEvent.objects.get(action="audit.checkpoint")
    assert checkpoint.details["purged_through_seq"] == 3
    assert not AuditEvent.objects.filter(seq__lte=3).exists()
    report = audit_verify()
    assert (report.ok, report.start_seq) == (True, 4)


def _rehash_all() -> None:
    from anshin.core.audit import GENESIS, _hash_of
    from anshin.core.models import AuditChain

    prev = GENESIS
    for event in AuditEvent.objects.order_by("seq"):
        event.prev_hash = prev
        event.hash = _hash_of(event)
        event.save(update_fields=["prev_hash", "hash"])
        prev = event.hash
    AuditChain.objects.update(head=prev)


@pytest.mark.django_db
def test_a_purge_that_removes_nothing_issues_no_certificate() -> None:
    counts = retention_purge(actor=OPERATOR)
    assert set(counts.values()) == {0}
    assert not Certificate.objects.exists()
    assert AuditEvent.objects.filter(action="retention.purge").count() == 1


@pytest.mark.django_db
def test_the_preview_counts_without_changing_anything(categories: Any) -> None:
    sub = _unsubscribed("preview@example.jp", 60, categories)
    assert retention_preview()["unsubscribed"] == 1
    sub.refresh_from_db()
    assert sub.email == "preview@example.jp"
    assert not PurgeRun.objects.exists() and not Certificate.objects.exists()


@pytest.mark.django_db
def test_the_nightly_job_runs_once_a_day_after_three_in_tokyo(categories: Any) -> None:
    _unsubscribed("night@example.jp", 60, categories)
    before = datetime(2026, 5, 1, 2, 59, tzinfo=TOKYO)
    assert retention_daily(now=before) == {"certificates": 0}
    assert not PurgeRun.objects.exists()
    after = datetime(2026, 5, 1, 3, 0, 5, tzinfo=TOKYO)
    assert retention_daily(now=after)["unsubscribed"] == 1
    _unsubscribed("second@example.jp", 60, categories)
    assert retention_daily(now=after.replace(hour=23)) == {"certificates": 0}
    assert str(PurgeRun.objects.get().day) == "2026-05-01"
    assert retention_daily(now=datetime(2026, 5, 2, 3, 1, tzinfo=TOKYO))["unsubscribed"] == 1


@pytest.mark.django_db
def test_a_nightly_run_that_died_is_resumed_after_its_lease(categories: Any) -> None:
    at = datetime(2026, 5, 1, 4, 0, tzinfo=TOKYO)
    PurgeRun.objects.create(
        day=at.date(), trigger="schedule", started_at=at, leased_until=at - timedelta(minutes=1)
    )
    _unsubscribed("resume@example.jp", 60, categories)
    assert retention_daily(now=at)["unsubscribed"] == 1
    assert PurgeRun.objects.get().finished_at is not None
