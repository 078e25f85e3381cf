"""The yearly receipt check (S10) end to end: scheduled, mailed on its day through a real SMTP
server, confirmed with one tap (a POST), and the policy after the deadline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from anshin.alerts.models import Alert
from anshin.alerts.services import alert_publish
from anshin.conftest import Sink, make_subscriber
from anshin.core.audit import OPERATOR, Actor
from anshin.core.models import AuditEvent
from anshin.delivery.bounces import bounce_ingest
from anshin.delivery.models import Notification, SendState, Suppression
from anshin.delivery.tests.test_bounces import postfix_dsn
from anshin.residents import receipts
from anshin.residents.models import ReceiptCheck, ReceiptConfirmation, Subscriber
from anshin.residents.selectors import receipt_check_summary
from anshin.residents.tests.conftest import body_of, link_in
from anshin.residents.tokens import make_receipt_token

pytestmark = pytest.mark.django_db(transaction=True)

State = ReceiptCheck.State


@pytest.fixture
def clerk(django_user_model: Any) -> Actor:
    return Actor.staff(django_user_model.objects.create_user("clerk", password="x"))


@pytest.fixture
def town(categories: dict[str, Any]) -> dict[str, Subscriber]:
    bousai = categories["bousai"]
    return {
        "hanako": make_subscriber("hanako@example.jp", bousai),
        "taro": make_subscriber("taro..jiro@docomo.ne.jp", bousai, categories["bouhan"]),
        "pending": make_subscriber("pending@example.jp", bousai, state="pending"),
        "left": make_subscriber("left@example.jp", bousai, state="unsubscribed"),
    }


def schedule(actor: Actor = OPERATOR, policy: str = "suspend", days: int = 14) -> ReceiptCheck:
    today = timezone.localdate()
    return receipts.receipt_check_schedule(
        send_on=today, deadline=today + dt.timedelta(days=days), policy=policy, actor=actor
    )


def start(check: ReceiptCheck) -> dict[str, int]:
    return receipts.receipt_checks_run(now=check.starts_at + dt.timedelta(seconds=1))


def close(check: ReceiptCheck) -> dict[str, int]:
    return receipts.receipt_checks_run(now=check.deadline_at + dt.timedelta(seconds=1))


def recipients(sink: Sink) -> list[str]:
    return sorted(r for _, rcpts, _ in sink.messages for r in rcpts)


# --- Sending ---------------------------------------------------------------------------------


def test_nothing_is_sent_before_the_day_and_hour(smtp_sink: Sink, town: Any) -> None:
    check = schedule()
    counts = receipts.receipt_checks_run(now=check.starts_at - dt.timedelta(minutes=1))
    assert counts == {"started": 0, "mailed": 0, "closed": 0, "suspended": 0}
    assert smtp_sink.messages == []
    assert ReceiptCheck.objects.get().state == State.SCHEDULED


def test_on_its_day_every_active_subscriber_gets_the_check_mail_once(
    smtp_sink: Sink, town: Any
) -> None:
    suppressed = make_subscriber("gone@example.jp")
    Suppression.objects.create(address_hash=suppressed.email_hash, reason="hard_bounce")
    check = schedule()
    assert start(check)["mailed"] == 2
    assert recipients(smtp_sink) == ["hanako@example.jp", "taro..jiro@docomo.ne.jp"]
    assert start(check)["mailed"] == 0  # the scheduler's next tick sends nothing again
    assert len(smtp_sink.messages) == 2
    check.refresh_from_db()
    assert check.state == State.SENT and check.recipients == 2
    actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("pk"))
    assert actions[-3:] == [
        "receipt_check.schedule",
        "receipt_check.start",
        "receipt_check.sent",
    ]


def test_check_mail_is_japanese_and_explains_the_deadline_and_policy(
    smtp_sink: Sink, town: Any
) -> None:
    check = schedule()
    start(check)
    (mail,) = smtp_sink.to("hanako@example.jp")
    assert (
        mail["Subject"]
        == "【安心市】年に一度の受信確認のお願い / Please confirm you receive our mail"
    )
    text = body_of(mail)
    d = check.deadline
    assert f"{d.year}年{d.month}月{d.day}日までに" in text
    assert "配信を一時停止" in text
    assert link_in(mail, "/receipt/") and link_in(mail, "/manage/")


def test_a_second_scheduler_with_a_stale_view_sends_nothing_twice(
    smtp_sink: Sink, categories: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are claimed by moving the check's cursor: a scheduler holding an old copy of the
    check loses the claim and stops; a restart resumes after the last chunk done."""
    monkeypatch.setattr(receipts, "FAN_OUT_CHUNK", 2)
    monkeypatch.setattr(receipts, "CHUNKS_PER_RUN", 1)
    for i in range(5):
        make_subscriber(f"r{i}@example.jp", categories["bousai"])
    check = schedule()
    start(check)  # starts and does one chunk of 2
    stale = ReceiptCheck.objects.get()
    receipts.receipt_checks_run()  # the other scheduler does the next chunk
    assert receipts._snapshot(stale) == 0  # the stale one loses its claim
    for _ in range(3):
        receipts.receipt_checks_run()
    assert len(smtp_sink.messages) == 5
    assert sorted(set(recipients(smtp_sink))) == recipients(smtp_sink)
    assert ReceiptCheck.objects.get().state == State.SENT


# --- Confirming ------------------------------------------------------------------------------


def test_link_get_changes_nothing_and_the_button_confirms_once(smtp_sink: Sink, town: Any) -> None:
    check = schedule()
    start(check)
    path = link_in(smtp_sink.to("hanako@example.jp")[0], "/receipt/")
    client = Client()
    page = client.get(path)
    assert page.status_code == 200 and "受信を確認しました" in page.content.decode()
    assert not ReceiptConfirmation.objects.exists()  # a link scanner confirmed nothing
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200  # a second tap is harmless
    (confirmation,) = ReceiptConfirmation.objects.all()
    assert confirmation.subscriber_id == town["hanako"].pk
    summary = receipt_check_summary(check)
    assert (summary.recipients, summary.confirmed, summary.not_yet) == (2, 1, 1)
    assert summary.per_day == [(timezone.localdate(), 1)]
    assert AuditEvent.objects.filter(action="receipt_check.confirm").count() == 1


@pytest.mark.parametrize(
    "token",
    ["x", "W10:abc", "a" * 5000, "..%2F..%2Fetc", "<script>alert(1)</script>"],
)
def test_altered_or_hostile_receipt_links_change_nothing(
    smtp_sink: Sink, town: Any, token: str
) -> None:
    check = schedule()
    start(check)
    client = Client()
    assert client.get(f"/receipt/{token}/").status_code == 404
    assert client.post(f"/receipt/{token}/").status_code == 404
    assert client.post(f"/resume/{token}/").status_code == 404
    assert not ReceiptConfirmation.objects.exists()


def test_a_resident_who_was_not_asked_cannot_confirm(smtp_sink: Sink, town: Any) -> None:
    check = schedule()
    start(check)
    token = make_receipt_token(town["pending"], check.pk)
    assert Client().post(f"/receipt/{token}/").status_code == 410
    assert not ReceiptConfirmation.objects.exists()


def test_hard_bounce_of_the_check_mail_is_counted_as_bounced(
    smtp_sink: Sink, town: Any, settings: Any
) -> None:
    settings.BOUNCE_DOMAIN = "bounce.example.jp"
    check = schedule()
    start(check)
    sender = next(f for f, rcpts, _ in smtp_sink.messages if "hanako@example.jp" in rcpts)
    result = bounce_ingest(raw=postfix_dsn(sender, status="5.1.1"))
    assert result.recorded
    summary = receipt_check_summary(check)
    assert (summary.confirmed, summary.bounced, summary.not_yet) == (0, 1, 1)


# --- After the deadline ------------------------------------------------------------------------


def test_suspend_policy_pauses_non_confirmers_and_tells_them_how_to_resume(
    smtp_sink: Sink, town: Any, categories: dict[str, Any]
) -> None:
    check = schedule()
    start(check)
    Client().post(link_in(smtp_sink.to("hanako@example.jp")[0], "/receipt/"))
    smtp_sink.clear()
    assert close(check)["suspended"] == 1
    taro = Subscriber.objects.get(pk=town["taro"].pk)
    assert taro.state == Subscriber.State.SUSPENDED
    assert Subscriber.objects.get(pk=town["hanako"].pk).state == Subscriber.State.ACTIVE
    assert Subscriber.objects.count() == 4  # nothing deleted
    (notice,) = smtp_sink.to("taro..jiro@docomo.ne.jp")
    assert notice["Subject"] == "【安心市】配信を一時停止しました / Your alert mail is paused"
    assert recipients(smtp_sink) == ["taro..jiro@docomo.ne.jp"]
    check.refresh_from_db()
    assert check.state == State.CLOSED and check.suspended == 1
    event = AuditEvent.objects.get(action="receipt_check.policy")
    assert event.details == {"policy": "suspend", "suspended": 1}
    close(check)  # the next tick does nothing more
    assert len(smtp_sink.messages) == 1

    # A paused resident receives no alert.
    smtp_sink.clear()
    alert_publish(
        actor=OPERATOR,
        category=categories["bousai"],
        subject="訓練",
        body="訓練です。",
        via=Alert.Via.CLI,
    )
    assert recipients(smtp_sink) == ["hanako@example.jp"]

    # Resuming: the GET shows a button and changes nothing; the POST resumes at once.
    path = link_in(notice, "/resume/")
    client = Client()
    assert client.get(path).status_code == 200
    assert Subscriber.objects.get(pk=taro.pk).state == Subscriber.State.SUSPENDED
    page = client.post(path)
    assert page.status_code == 200
    assert Subscriber.objects.get(pk=taro.pk).state == Subscriber.State.ACTIVE
    assert AuditEvent.objects.filter(action="subscription.resume").count() == 1


def test_receipt_link_after_the_policy_offers_the_resume_page(smtp_sink: Sink, town: Any) -> None:
    check = schedule()
    start(check)
    path = link_in(smtp_sink.to("taro..jiro@docomo.ne.jp")[0], "/receipt/")
    close(check)
    page = Client().post(path)
    assert page.status_code == 410 and "/resume/" in page.content.decode()
    assert not ReceiptConfirmation.objects.exists()


def test_paused_resident_can_leave_for_good_from_the_notice(smtp_sink: Sink, town: Any) -> None:
    check = schedule()
    start(check)
    smtp_sink.clear()
    close(check)
    notice = smtp_sink.to("hanako@example.jp")[0]
    assert Client().post(link_in(notice, "/unsubscribe/")).status_code == 200
    assert Subscriber.objects.get(pk=town["hanako"].pk).state == Subscriber.State.UNSUBSCRIBED


def test_keep_policy_changes_nothing_after_the_deadline(smtp_sink: Sink, town: Any) -> None:
    check = schedule(policy="keep")
    start(check)
    assert "配信は続きます" in body_of(smtp_sink.to("hanako@example.jp")[0])
    smtp_sink.clear()
    close(check)
    assert smtp_sink.messages == []
    states = set(Subscriber.objects.values_list("state", flat=True))
    assert Subscriber.State.SUSPENDED not in states
    assert ReceiptCheck.objects.get().state == State.CLOSED
    event = AuditEvent.objects.get(action="receipt_check.policy")
    assert event.details == {"policy": "keep", "suspended": 0}


def test_who_left_during_the_check_is_neither_paused_nor_mailed(smtp_sink: Sink, town: Any) -> None:
    check = schedule()
    start(check)
    Subscriber.objects.filter(pk=town["taro"].pk).update(state=Subscriber.State.UNSUBSCRIBED)
    smtp_sink.clear()
    close(check)
    assert recipients(smtp_sink) == ["hanako@example.jp"]
    taro = Subscriber.objects.get(pk=town["taro"].pk)
    assert taro.state == Subscriber.State.UNSUBSCRIBED


# --- Scheduling and cancelling ------------------------------------------------------------------


def test_cancel_before_start_means_nothing_is_ever_sent(
    smtp_sink: Sink, town: Any, clerk: Actor
) -> None:
    check = schedule(actor=clerk)
    receipts.receipt_check_cancel(check=check, actor=clerk)
    start(check)
    assert smtp_sink.messages == []
    assert ReceiptCheck.objects.get().state == State.CANCELLED
    event = AuditEvent.objects.get(action="receipt_check.cancel")
    assert event.actor_user == clerk.user


def test_a_started_check_cannot_be_cancelled(smtp_sink: Sink, town: Any, clerk: Actor) -> None:
    check = schedule(actor=clerk)
    start(check)
    with pytest.raises(receipts.ScheduleRefused):
        receipts.receipt_check_cancel(check=check, actor=clerk)
    assert ReceiptCheck.objects.get().state == State.SENT
    assert not AuditEvent.objects.filter(action="receipt_check.cancel").exists()


@pytest.mark.parametrize(
    ("send_days", "deadline_days", "policy"),
    [
        (-1, 10, "keep"),
        (0, 0, "keep"),
        (0, -3, "keep"),
        (0, 181, "keep"),
        (400, 410, "keep"),
        (0, 10, "delete"),
    ],
)
def test_schedule_refuses_impossible_dates_and_unknown_policies(
    send_days: int, deadline_days: int, policy: str
) -> None:
    today = timezone.localdate()
    with pytest.raises(receipts.ScheduleRefused):
        receipts.receipt_check_schedule(
            send_on=today + dt.timedelta(days=send_days),
            deadline=today + dt.timedelta(days=deadline_days),
            policy=policy,
            actor=OPERATOR,
        )
    assert not ReceiptCheck.objects.exists() and not AuditEvent.objects.exists()


def test_only_one_open_check_at_a_time() -> None:
    schedule()
    with pytest.raises(receipts.ScheduleRefused):
        schedule()
    assert ReceiptCheck.objects.count() == 1


def test_check_sends_on_its_date_at_the_configured_tokyo_hour(settings: Any) -> None:
    settings.RECEIPT_CHECK_SEND_HOUR = 9
    check = schedule()
    local = timezone.localtime(check.starts_at)
    assert (local.date(), local.hour, str(local.tzinfo)) == (check.send_on, 9, "Asia/Tokyo")
    deadline = timezone.localtime(check.deadline_at)
    assert (deadline.date(), deadline.hour) == (check.deadline + dt.timedelta(days=1), 0)


def test_notifications_of_a_check_are_not_mixed_with_other_mail(smtp_sink: Sink, town: Any) -> None:
    check = schedule()
    start(check)
    kinds = set(Notification.objects.values_list("kind", "receipt_check_id", "state"))
    assert kinds == {(Notification.Kind.RECEIPT_CHECK, check.pk, SendState.ACCEPTED)}
    assert User.objects.count() == 0
