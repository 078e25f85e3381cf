"""Reads for the console: delivery progress counted in the database."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from anshin.alerts.models import Alert
from anshin.delivery.models import Delivery, Message, SendState


@dataclass(frozen=True)
class Progress:
    state: str
    total: int
    queued: int
    sending: int
    accepted: int
    failed: int
    retrying: int

    @property
    def finished(self) -> int:
        return self.accepted + self.failed

    @property
    def percent(self) -> int:
        return (
            100
            if self.total == 0 and self.state == Delivery.State.DONE
            else (round(100 * self.finished / self.total) if self.total else 0)
        )


def delivery_progress(delivery: Delivery) -> Progress:
    counts = dict(
        Message.objects.filter(delivery=delivery)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    retrying = Message.objects.filter(
        delivery=delivery, state=SendState.QUEUED, attempts__gt=0
    ).count()
    total = delivery.total or sum(counts.values())
    return Progress(
        state=delivery.state,
        total=total,
        queued=counts.get(SendState.QUEUED, 0),
        sending=counts.get(SendState.SENDING, 0),
        accepted=counts.get(SendState.ACCEPTED, 0),
        failed=counts.get(SendState.FAILED, 0),
        retrying=retrying,
    )


def alert_email_delivery(alert: Alert) -> Delivery | None:
    return Delivery.objects.filter(alert=alert, channel="email").first()


def delivery_failures(delivery: Delivery, limit: int = 200) -> list[Message]:
    return list(
        Message.objects.filter(delivery=delivery, state=SendState.FAILED).order_by("pk")[:limit]
    )
