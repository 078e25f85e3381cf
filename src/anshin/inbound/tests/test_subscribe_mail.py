"""The page the reply to an empty mail links to (residents:subscribe_mail): a GET changes
nothing, the POST registers at once, and altered, used or hostile input changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from anshin.core.models import AuditEvent
from anshin.delivery.models import Notification
from anshin.residents.models import Subscriber
from anshin.residents.services import subscription_request_by_mail
from anshin.residents.tokens import make_confirm_token, make_mail_register_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(categories: Any, smtp_sink: Any) -> Subscriber:
    assert subscription_request_by_mail(raw_email="hanako@example.jp")
    return Subscriber.objects.get()


def _url(subscriber: Subscriber) -> str:
    return reverse("residents:subscribe_mail", args=[make_mail_register_token(subscriber)])


def test_neither_page_takes_the_other_pages_token(pending: Subscriber):
    """A confirmation link cannot be turned into a registration by editing the URL (it would
    make an active subscriber without categories), nor the other way round."""
    confirm_token = make_confirm_token(pending)
    register_token = make_mail_register_token(pending)
    client = Client()
    forged = client.post(
        reverse("residents:subscribe_mail", args=[confirm_token]),
        {"categories": ["bousai"], "notice_version": "1"},
    )
    assert forged.status_code in (400, 404)
    assert client.post(reverse("residents:confirm", args=[register_token])).status_code in (
        400,
        404,
    )
    pending.refresh_from_db()
    assert pending.state == Subscriber.State.PENDING


def test_post_registers_active_with_chosen_categories(pending: Subscriber):
    url = _url(pending)
    response = Client().post(url, {"categories": ["bousai", "bouhan"], "notice_version": "1"})
    assert response.status_code == 200
    pending.refresh_from_db()
    assert pending.state == Subscriber.State.ACTIVE
    assert sorted(c.slug for c in pending.categories.all()) == ["bouhan", "bousai"]
    assert list(Notification.objects.values_list("kind", flat=True).order_by("pk")) == [
        "mail_register",
        "complete",
    ]
    event = AuditEvent.objects.get(action="subscription.confirm")
    assert event.details == {"notice_version": 1, "via": "mail"}


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"categories": ["nonexistent"]},
        {"categories": ["bousai"], "notice_version": "99999999999999999999"},
        {"categories": ["x" * 100_000]},
        {"categories": ["bousai' OR 1=1 --"]},
    ],
)
def test_invalid_post_changes_nothing(pending: Subscriber, data: dict[str, Any]):
    response = Client().post(_url(pending), data)
    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.state == Subscriber.State.PENDING and pending.categories.count() == 0
    assert Notification.objects.filter(kind="complete").count() == 0


@pytest.mark.parametrize("token", ["x", "a" * 5000, "%00", "..%2F..%2Fetc"])
def test_altered_links_are_refused(pending: Subscriber, token: str):
    assert Client().get(f"/subscribe/mail/{token}/").status_code == 404
    assert Client().post(f"/subscribe/mail/{token}/", {"categories": ["bousai"]}).status_code == 404
    pending.refresh_from_db()
    assert pending.state == Subscriber.State.PENDING


def test_get_shows_choice_and_notice_without_address(pending: Subscriber):
    page = Client().get(_url(pending)).content.decode()
    assert "hanako" not in page
    assert 'name="categories"' in page and 'name="notice_version" value="1"' in page
    pending.refresh_from_db()
    assert pending.state == Subscriber.State.PENDING


def test_second_empty_mail_keeps_the_first_link_valid(pending: Subscriber, settings: Any):
    settings.CONFIRMATION_MIN_INTERVAL = 0
    url = _url(pending)
    assert subscription_request_by_mail(raw_email="hanako@example.jp")
    assert Client().post(url, {"categories": ["bousai"]}).status_code == 200


def test_budget_bounds_replies_per_address(categories: Any, settings: Any):
    settings.CONFIRMATION_MIN_INTERVAL = 0
    sent = [subscription_request_by_mail(raw_email="hanako@example.jp") for _ in range(10)]
    assert sent == [True] * settings.CONFIRMATION_BUDGET + [False] * (
        10 - settings.CONFIRMATION_BUDGET
    )
    assert Notification.objects.count() == settings.CONFIRMATION_BUDGET
