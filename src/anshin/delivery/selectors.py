"""Reads for the console: delivery progress counted in the database."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

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
    stopped: int = 0
    expired: int = 0
    elapsed_s: float = 0.0

    @property
    def remaining(self) -> int:
        return max(self.total - self.finished, 0)

    @property
    def rate_per_s(self) -> float:
        """Messages finished per second since the alert was published."""
        return self.finished / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> int | None:
        """Seconds until the rest is handed over at the rate so far; None when unknown."""
        if not self.remaining:
            return 0
        return round(self.remaining / self.rate_per_s) if self.rate_per_s else None

    @property
    def finished(self) -> int:
        return self.accepted + self.failed + self.stopped + self.expired

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
    end = delivery.finished_at or timezone.now()
    return Progress(
        elapsed_s=max((end - delivery.created_at).total_seconds(), 0.0),
        state=delivery.state,
        total=total,
        queued=counts.get(SendState.QUEUED, 0),
        sending=counts.get(SendState.SENDING, 0),
        accepted=counts.get(SendState.ACCEPTED, 0),
        failed=counts.get(SendState.FAILED, 0),
        retrying=retrying,
        stopped=counts.get(SendState.STOPPED, 0),
        expired=counts.get(SendState.EXPIRED, 0),
    )


def alert_email_delivery(alert: Alert) -> Delivery | None:
    return Delivery.objects.filter(alert=alert, channel="email").first()


def delivery_failures(delivery: Delivery, limit: int = 200) -> list[Message]:
    return list(
        Message.objects.filter(delivery=delivery, state=SendState.FAILED).order_by("pk")[:limit]
    )
