"""The relay's quota, honoured across every sending connection: concurrent connections and
messages per second."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from anshin.alerts.services import alert_publish
from anshin.conftest import Sink, make_subscriber
from anshin.core.audit import OPERATOR
from anshin.delivery import services
from anshin.delivery.models import Delivery, Message, SendState

pytestmark = pytest.mark.django_db(transaction=True)


def held_back_alert(categories: dict[str, Any], n: int) -> Delivery:
    from unittest import mock

    for i in range(n):
        make_subscriber(f"q{i}@example.jp", categories["bousai"])
    with mock.patch("anshin.delivery.tasks.send_batch.delay"):
        alert = alert_publish(
            actor=OPERATOR, category=categories["bousai"], subject="上限", body="本文", via="cli"
        )
    return Delivery.objects.get(alert=alert)


def run_batches_at_once(delivery: Delivery, ranges: list[tuple[int, int]]) -> None:
    def one(first: int, last: int) -> None:
        try:
            services.send_batch(delivery_id=delivery.pk, first_id=first, last_id=last)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=r) for r in ranges]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)


def most_connections_at_once(sink: Sink) -> int:
    spans: dict[Any, list[float]] = {}
    for at, peer in sink.arrivals:
        spans.setdefault(peer, [at, at])[1] = at
    return max(sum(1 for a, b in spans.values() if a <= t <= b) for t, _ in sink.arrivals)


def test_connection_ceiling_holds_across_concurrent_batches(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any
) -> None:
    settings.RELAY_MAX_CONNECTIONS = 1
    settings.SEND_CONNECTIONS = 2
    smtp_sink.delay = 0.002
    delivery = held_back_alert(categories, 120)
    ids = sorted(Message.objects.values_list("pk", flat=True))
    run_batches_at_once(delivery, [(ids[0], ids[59]), (ids[60], ids[-1])])
    assert most_connections_at_once(smtp_sink) == 1
    assert Message.objects.filter(state=SendState.ACCEPTED).count() == 120


def test_rate_ceiling_holds_across_connections(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any
) -> None:
    settings.RELAY_MAX_CONNECTIONS = 2
    settings.RELAY_MAX_RATE = 40
    settings.SEND_CONNECTIONS = 2
    delivery = held_back_alert(categories, 80)
    ids = sorted(Message.objects.values_list("pk", flat=True))
    run_batches_at_once(delivery, [(ids[0], ids[39]), (ids[40], ids[-1])])
    times = sorted(at for at, _ in smtp_sink.arrivals)
    assert len(times) == 80
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    # The ceiling, give or take the first message of each connection, and one more: the times
    # are taken where the sink reads the mail, and on a busy machine a reply read late can
    # land just inside the next second. Unpaced, the 80 mails arrive within a fraction of one.
    assert busiest <= 40 + 2 + 1
    # Over the whole send the relay saw at most the ceiling's rate.
    assert (len(times) - 2) / (times[-1] - times[0]) <= 40 * 1.02


def test_no_free_slot_hands_the_rows_back_to_the_queue(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any
) -> None:
    from django.utils import timezone

    from anshin.delivery.models import RelaySlot

    settings.RELAY_MAX_CONNECTIONS = 1
    settings.RELAY_SLOT_WAIT_SECONDS = 0.2
    delivery = held_back_alert(categories, 5)
    RelaySlot.objects.create(
        pk=1, holder="elsewhere", leased_until=timezone.now() + timedelta(minutes=5)
    )
    services.send_batch(delivery_id=delivery.pk, first_id=0, last_id=10**9)
    assert smtp_sink.messages == []
    assert set(Message.objects.values_list("state", "attempts", "claim")) == {
        (SendState.QUEUED, 0, "")
    }
