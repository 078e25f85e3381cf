"""Fan-out, sending outcomes, retries and the reconciler, against a real SMTP server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from anshin.alerts.models import Alert
from anshin.alerts.services import alert_publish
from anshin.conftest import Sink, _Handler, free_port, make_subscriber
from anshin.core.audit import OPERATOR
from anshin.core.models import AuditEvent
from anshin.delivery import services
from anshin.delivery.models import Delivery, Message, SendState
from anshin.residents.models import Subscriber

pytestmark = pytest.mark.django_db(transaction=True)


def publish(category: Any, subject: str = "訓練", body: str = "これは訓練です。") -> Alert:
    return alert_publish(actor=OPERATOR, category=category, subject=subject, body=body, via="cli")


def test_fan_out_reaches_only_active_subscribers_of_the_category(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    make_subscriber("a@example.jp", categories["bousai"])
    make_subscriber("b@example.jp", categories["bouhan"])
    make_subscriber("c@example.jp", categories["bousai"], state=Subscriber.State.PENDING)
    make_subscriber("d@example.jp", categories["bousai"], state=Subscriber.State.UNSUBSCRIBED)
    make_subscriber("taro.@ezweb.ne.jp", categories["bousai"], categories["bouhan"])
    alert = publish(categories["bousai"])
    delivered = sorted(rcpt for _, rcpts, _ in smtp_sink.messages for rcpt in rcpts)
    assert delivered == ["a@example.jp", "taro.@ezweb.ne.jp"]
    senders = [sender for sender, _, _ in smtp_sink.messages]  # VERP: each names its own row
    assert all(s.startswith("bounce+m") for s in senders) and len(set(senders)) == 2
    delivery = Delivery.objects.get(alert=alert)
    assert (delivery.state, delivery.total) == (Delivery.State.DONE, 2)
    assert set(Message.objects.values_list("state", flat=True)) == {SendState.ACCEPTED}


def test_suppressed_addresses_get_no_alert(smtp_sink: Sink, categories: dict[str, Any]) -> None:
    from anshin.core.audit import OPERATOR
    from anshin.delivery.bounces import suppression_add_manual

    make_subscriber("ok@example.jp", categories["bousai"])
    make_subscriber("Gone@Example.JP", categories["bousai"])
    suppression_add_manual(address="Gone@example.jp", actor=OPERATOR, reason_text="mailbox gone")
    publish(categories["bousai"])
    assert [rcpts for _, rcpts, _ in smtp_sink.messages] == [["ok@example.jp"]]


def test_fan_out_writes_one_audit_entry_per_job_without_addresses(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    for i in range(5):
        make_subscriber(f"p{i}@example.jp", categories["bouhan"])
    alert = publish(categories["bouhan"])
    events = list(AuditEvent.objects.values_list("action", "details"))
    assert events == [
        ("alert.publish", {"category": "bouhan", "via": "cli"}),
        ("delivery.fan_out", {"alert": alert.pk, "recipients": 5}),
    ]


def test_permanent_refusal_fails_with_redacted_reply(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    make_subscriber("gone@example.jp", categories["bousai"])
    make_subscriber("ok@example.jp", categories["bousai"])
    smtp_sink.answers["gone@"] = "550 5.1.1 <gone@example.jp>: Recipient address rejected"
    alert = publish(categories["bousai"])
    failed = Message.objects.get(state=SendState.FAILED)
    assert failed.smtp_code == 550
    assert (
        "gone@example.jp" not in failed.smtp_reply
        and "Recipient address rejected" in failed.smtp_reply
    )
    assert Message.objects.filter(state=SendState.ACCEPTED).count() == 1
    assert Delivery.objects.get(alert=alert).state == Delivery.State.DONE


def test_temporary_refusal_is_retried_later_then_accepted(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.RETRY_BASE_SECONDS = 30
    make_subscriber("busy@example.jp", categories["bousai"])
    smtp_sink.answers["busy@"] = "451 4.7.1 Try again later"
    publish(categories["bousai"])
    message = Message.objects.get()
    assert (message.state, message.attempts, message.smtp_code) == (SendState.QUEUED, 1, 451)
    assert message.next_attempt_at is not None
    assert timedelta(seconds=29) < message.next_attempt_at - timezone.now() <= timedelta(seconds=30)
    assert services.reconcile()["batches"] == 0  # not due yet
    smtp_sink.answers.clear()
    later = timezone.now() + timedelta(seconds=31)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert services.reconcile()["batches"] == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == (SendState.ACCEPTED, 2)


def test_relay_down_leaves_alert_queued_and_it_goes_out_when_back(
    categories: dict[str, Any], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    settings.SMTP_URL = f"smtp://127.0.0.1:{port}"
    for i in range(3):
        make_subscriber(f"w{i}@example.jp", categories["bousai"])
    alert = publish(categories["bousai"])
    assert Message.objects.filter(state=SendState.QUEUED, attempts=1, smtp_code=None).count() == 3
    assert Delivery.objects.get(alert=alert).state == Delivery.State.SENDING
    sink = Sink(port=port)
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        later = timezone.now() + timedelta(minutes=5)
        monkeypatch.setattr(timezone, "now", lambda: later)
        services.reconcile()
    finally:
        controller.stop()
    assert len(sink.messages) == 3
    assert Delivery.objects.get(alert=alert).state == Delivery.State.DONE


def test_temporary_errors_fail_after_the_retry_horizon(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.RETRY_HORIZON_SECONDS = 60
    settings.RETRY_BASE_SECONDS = 40
    make_subscriber("busy@example.jp", categories["bousai"])
    smtp_sink.answers["busy@"] = "451 4.3.0 busy"
    publish(categories["bousai"])
    later = timezone.now() + timedelta(seconds=45)
    monkeypatch.setattr(timezone, "now", lambda: later)
    services.reconcile()
    message = Message.objects.get()
    assert (message.state, message.attempts, message.smtp_code) == (SendState.FAILED, 2, 451)


def test_expired_lease_is_released_and_resent(
    smtp_sink: Sink, categories: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_subscriber("x@example.jp", categories["bousai"])
    alert = publish(categories["bousai"])
    smtp_sink.clear()
    # Simulate a worker that died after claiming: the row is stuck in sending.
    Message.objects.update(
        state=SendState.SENDING, claim="dead", leased_until=timezone.now() - timedelta(seconds=1)
    )
    Delivery.objects.filter(alert=alert).update(state=Delivery.State.SENDING)
    counts = services.reconcile()
    assert counts["expired_leases"] == 1
    assert [rcpts for _, rcpts, _ in smtp_sink.messages] == [["x@example.jp"]]
    assert Message.objects.get().state == SendState.ACCEPTED


def test_pending_delivery_whose_task_was_lost_is_fanned_out_by_the_reconciler(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any
) -> None:
    from anshin.core.celery_app import app

    make_subscriber("y@example.jp", categories["bouhan"])
    app.conf.task_always_eager = False
    try:
        from unittest import mock

        with mock.patch("anshin.delivery.tasks.fan_out.delay"):  # the broker lost the message
            alert = publish(categories["bouhan"])
    finally:
        app.conf.task_always_eager = True
    assert Delivery.objects.get(alert=alert).state == Delivery.State.PENDING
    assert services.reconcile()["fan_outs"] == 1
    assert len(smtp_sink.to("y@example.jp")) == 1


def test_a_repeated_batch_message_sends_nothing_twice(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    for i in range(4):
        make_subscriber(f"z{i}@example.jp", categories["bousai"])
    alert = publish(categories["bousai"])
    delivery = Delivery.objects.get(alert=alert)
    ids = list(Message.objects.values_list("pk", flat=True))
    services.send_batch(delivery_id=delivery.pk, first_id=min(ids), last_id=max(ids))
    services.delivery_fan_out(delivery_id=delivery.pk)
    assert len(smtp_sink.messages) == 4


def test_retry_failed_requeues_and_is_audited(
    smtp_sink: Sink, categories: dict[str, Any], django_user_model: Any
) -> None:
    from anshin.core.audit import Actor

    make_subscriber("r@example.jp", categories["bousai"])
    smtp_sink.answers["r@"] = "554 5.7.1 blocked"
    alert = publish(categories["bousai"])
    smtp_sink.answers.clear()
    clerk = django_user_model.objects.create_user("clerk", password="x" * 16, is_staff=True)
    delivery = Delivery.objects.get(alert=alert)
    assert services.delivery_retry_failed(delivery=delivery, actor=Actor.staff(clerk)) == 1
    services.reconcile()
    assert Message.objects.get().state == SendState.ACCEPTED
    assert AuditEvent.objects.filter(action="delivery.retry_failed", actor_user=clerk).count() == 1


def test_stop_mid_send_marks_what_was_not_handed_over(
    smtp_sink: Sink, categories: dict[str, Any], django_user_model: Any
) -> None:
    from unittest import mock

    from anshin.alerts.services import alert_stop
    from anshin.core.audit import Actor

    for i in range(5):
        make_subscriber(f"s{i}@example.jp", categories["bouhan"])
    with mock.patch("anshin.delivery.tasks.send_batch.delay"):  # the batches wait in the queue
        alert = publish(categories["bouhan"], subject="行方不明者", body="捜索中です。")
    clerk = django_user_model.objects.create_user("clerk", password="x" * 16, is_staff=True)
    assert alert_stop(actor=Actor.staff(clerk), alert=alert) == 5
    delivery = Delivery.objects.get(alert=alert)
    services.send_batch(delivery_id=delivery.pk, first_id=0, last_id=10**9)  # a batch arrives late
    services.reconcile()
    assert smtp_sink.messages == []
    assert set(Message.objects.values_list("state", flat=True)) == {SendState.STOPPED}
    assert Delivery.objects.get(pk=delivery.pk).state == Delivery.State.DONE
    event = AuditEvent.objects.get(action="alert.stop")
    assert (event.actor_user, event.details) == (clerk, {"stopped": 5})
    assert alert_stop(actor=Actor.staff(clerk), alert=alert) == 0  # a second stop does nothing


def test_messages_past_the_alerts_expiry_are_expired_not_sent_late(
    smtp_sink: Sink, categories: dict[str, Any], monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.RETRY_BASE_SECONDS = 60
    make_subscriber("late@example.jp", categories["bousai"])
    smtp_sink.answers["late@"] = "451 4.3.0 busy"
    alert = publish(categories["bousai"])
    assert alert.expires_at is not None and alert.published_at is not None
    assert round((alert.expires_at - alert.published_at).total_seconds()) == 6 * 3600  # 防災: 6 h
    smtp_sink.answers.clear()
    later = alert.expires_at + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert services.reconcile()["dropped"] == 1
    assert Message.objects.get().state == SendState.EXPIRED
    assert len(smtp_sink.to("late@example.jp")) == 0


def test_a_retry_that_would_come_after_expiry_expires_instead(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any
) -> None:
    categories["bousai"].expiry_hours = 1
    categories["bousai"].save()
    settings.RETRY_BASE_SECONDS = settings.RETRY_MAX_SECONDS = 2 * 3600  # next try after expiry
    make_subscriber("late@example.jp", categories["bousai"])
    smtp_sink.answers["late@"] = "421 4.7.0 try later"
    publish(categories["bousai"])
    message = Message.objects.get()
    assert (message.state, message.smtp_code) == (SendState.EXPIRED, 421)
