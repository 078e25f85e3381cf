"""Reads for the transparency page and the console's certificate list."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from anshin.alerts.models import Alert
from anshin.governance.models import Certificate
from anshin.governance.retention import ALL_KINDS, Kind
from anshin.residents.models import Subscriber


@dataclass(frozen=True)
class Figures:
    subscribers: int
    alerts_sent: int
    certificates: int


def transparency_figures() -> Figures:
    return Figures(
        subscribers=Subscriber.objects.filter(state=Subscriber.State.ACTIVE).count(),
        alerts_sent=Alert.objects.filter(published_at__isnull=False).count(),
        certificates=Certificate.objects.filter(issued_at__isnull=False).count(),
    )


def retention_periods() -> list[tuple[Kind, int]]:
    """Each kind with its live period in days (from settings, not from documentation)."""
    return [(kind, kind.days()) for kind in ALL_KINDS]


def issued_certificates() -> QuerySet[Certificate]:
    return Certificate.objects.filter(issued_at__isnull=False).defer("pdf").order_by("-pk")
