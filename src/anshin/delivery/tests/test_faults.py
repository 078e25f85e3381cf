"""Faults at the relay and at the broker, in-process against a real SMTP server: every
recipient ends in the right final state, and no one gets the same alert twice."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from anshin.alerts.services import alert_publish
from anshin.conftest import Sink, _Handler, make_subscriber
from anshin.core.audit import OPERATOR
from anshin.delivery import services
from anshin.delivery.models import Delivery, Message, SendState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=[False, True], ids=["plain", "pipelining"])
def relay_pipelining(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Fault the relay as it is (aiosmtpd offers no PIPELINING) and once offering it, as
    Postfix does: the sender then speaks the other of its two dialogues."""
    if request.param:

        async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
            self: Any, server: Any, session: Any, envelope: Any, hostname: str, responses: Any
        ) -> list[str]:
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]]

        monkeypatch.setattr(_Handler, "handle_EHLO", handle_EHLO, raising=False)
    return bool(request.param)


def test_the_same_batch_delivered_twice_at_once_sends_each_mail_once(
    smtp_sink: Sink, categories: dict[str, Any], relay_pipelining: bool
) -> None:
    from unittest import mock

    for i in range(60):
        make_subscriber(f"twice{i}@example.jp", categories["bousai"])
    with mock.patch("anshin.delivery.tasks.send_batch.delay"):  # hold the batch back
        alert = alert_publish(
            actor=OPERATOR, category=categories["bousai"], subject="二重", body="本文", via="cli"
        )
    delivery = Delivery.objects.get(alert=alert)
    smtp_sink.delay = 0.005  # slow enough that both copies overlap
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def redelivered() -> None:
        try:
            barrier.wait(timeout=10)
            services.send_batch(delivery_id=delivery.pk, first_id=0, last_id=10**9)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=redelivered) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    received = sorted(r for _, rcpts, _ in smtp_sink.messages for r in rcpts)
    assert received == sorted(f"twice{i}@example.jp" for i in range(60))
    assert Message.objects.filter(state=SendState.ACCEPTED).count() == 60


def test_fault_injecting_relay_each_recipient_ends_in_the_right_state(
    smtp_sink: Sink,
    categories: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    relay_pipelining: bool,
) -> None:
    settings.RETRY_BASE_SECONDS = 10
    answers = {
        "r421@": "421 4.3.2 System not accepting network messages",
        "r450@": "450 4.2.1 Mailbox busy",
        "r452@": "452 4.2.2 Mailbox full",
        "r550@": "550 5.1.1 User unknown",
        "r554@": "554 5.7.1 Rejected as spam",
    }
    for name in ("ok1", "r421", "r450", "r452", "r550", "r554", "drop", "ok2"):
        make_subscriber(f"{name}@example.jp", categories["bouhan"])
    smtp_sink.answers.update(answers)
    smtp_sink.drop_data_for = {"drop@example.jp"}
    alert_publish(
        actor=OPERATOR, category=categories["bouhan"], subject="障害", body="本文", via="cli"
    )
    first = {
        m.subscriber.email.split("@")[0]: (m.state, m.smtp_code) for m in Message.objects.all()
    }
    assert first == {
        "ok1": (SendState.ACCEPTED, 250),
        "r421": (SendState.QUEUED, 421),
        "r450": (SendState.QUEUED, 450),
        "r452": (SendState.QUEUED, 452),
        "r550": (SendState.FAILED, 550),
        "r554": (SendState.FAILED, 554),
        "drop": (SendState.QUEUED, None),
        "ok2": (SendState.ACCEPTED, 250),
    }
    # The relay recovers; the scheduler picks the retries up when they are due.
    smtp_sink.answers.clear()
    smtp_sink.drop_data_for = set()
    later = timezone.now() + timedelta(minutes=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    services.reconcile()
    final = {m.subscriber.email.split("@")[0]: m.state for m in Message.objects.all()}
    assert final == {
        "ok1": SendState.ACCEPTED,
        "r421": SendState.ACCEPTED,
        "r450": SendState.ACCEPTED,
        "r452": SendState.ACCEPTED,
        "r550": SendState.FAILED,
        "r554": SendState.FAILED,
        "drop": SendState.ACCEPTED,
        "ok2": SendState.ACCEPTED,
    }
    received = sorted(r for _, rcpts, _ in smtp_sink.messages for r in rcpts)
    expected = ["drop", "ok1", "ok2", "r421", "r450", "r452"]
    assert received == [f"{name}@example.jp" for name in expected]  # each exactly once
