"""Fixtures for the archive, feeds and CAP tests: published alerts made directly in the
database (with the time they were published), and the default categories' CAP values."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone

from anshin.alerts.models import Alert, Category

JST = timezone.get_fixed_timezone(9 * 60)
START = datetime(2026, 11, 1, 9, 0, tzinfo=JST)


@pytest.fixture
def cap_categories(categories: dict[str, Category]) -> dict[str, Category]:
    """The default categories with the CAP defaults their data migration sets (a transactional
    test's flush loses them; applying the migration's function again is idempotent)."""
    migration = importlib.import_module("anshin.alerts.migrations.0006_category_cap_defaults")
    migration.set_defaults(apps, None)
    return {c.slug: c for c in Category.objects.all()}


MakeAlert = Callable[..., Alert]


@pytest.fixture
def make_alert(cap_categories: dict[str, Category]) -> MakeAlert:
    """An alert published `minutes` after START (so order is explicit), in `slug`."""

    def make(subject: str, *, slug: str = "bousai", minutes: int = 0, **fields: Any) -> Alert:
        category = cap_categories[slug]
        published = START + timedelta(minutes=minutes)
        values: dict[str, Any] = {
            "body": subject + "の本文",
            "created_via": Alert.Via.CLI,
            "published_at": published,
            "expires_at": published + timedelta(hours=category.expiry_hours),
            "cap_categories": category.cap_categories,
            "urgency": category.cap_urgency,
            "severity": category.cap_severity,
            "certainty": category.cap_certainty,
        }
        values.update(fields)
        return Alert.objects.create(category=category, subject=subject, **values)

    return make
