"""Reads for the public archive, the feeds and CAP: only published alerts, newest first."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404

from anshin.alerts.models import Alert, Category

ARCHIVE_PAGE_SIZE = 20
FEED_SIZE = 50


def public_alerts(*, category: Category | None = None) -> QuerySet[Alert]:
    """Everything that was published, including alerts stopped mid-send (they were sent to
    some residents, so the public record keeps them)."""
    alerts = Alert.objects.filter(published_at__isnull=False).select_related(
        "category", "references"
    )
    if category is not None:
        alerts = alerts.filter(category=category)
    return alerts.order_by("-published_at", "-id")


def public_alert_page(*, category: Category | None, number: str | None) -> Page[Alert]:
    """One page of the archive. A missing, non-numeric or out-of-range page number gives the
    nearest real page instead of an error: old links and typed URLs keep working."""
    return Paginator(public_alerts(category=category), ARCHIVE_PAGE_SIZE).get_page(number)


def public_alert(*, pk: int) -> Alert:
    alert = public_alerts().filter(pk=pk).first()
    if alert is None:
        raise Http404
    return alert


def public_category(*, slug: str) -> Category:
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        raise Http404
    return category


def latest_public_alerts(*, category: Category | None = None) -> list[Alert]:
    return list(public_alerts(category=category)[:FEED_SIZE])
