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
    delivery = Delivery.objects.get(alert=alert)
    assert (delivery.state, delivery.total) == (Delivery.State.DONE, 2)
    assert set(Message.objects.values_list("state", flat=True)) == {SendState.ACCEPTED}


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
