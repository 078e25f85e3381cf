"""Staff console: the yearly receipt check — schedule, cancel, results — with the permission
checked before anything is read or written."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from anshin.conftest import Sink, make_subscriber, staff_login
from anshin.core.models import AuditEvent
from anshin.residents.models import ReceiptCheck
from anshin.residents.receipts import receipt_checks_run

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff_login(client, user)
    return client


@pytest.fixture
def clerk(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    for codename in ("view_receiptcheck", "add_receiptcheck", "change_receiptcheck"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return _client(user)


@pytest.fixture
def viewer(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_receiptcheck"))
    return _client(user)


@pytest.fixture
def outsider(django_user_model: Any) -> Client:
    return _client(django_user_model.objects.create_user("other", password="x", is_staff=True))


def days(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


def schedule(client: Client, **data: str) -> Any:
    form = {"send_on": days(7), "deadline": days(37), "policy": "suspend", **data}
    return client.post("/console/receipts/", form)


def test_clerk_schedules_a_check_and_it_is_audited(clerk: Client) -> None:
    response = schedule(clerk)
    check = ReceiptCheck.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/receipts/{check.pk}/"
    assert (check.send_on.isoformat(), check.deadline.isoformat()) == (days(7), days(37))
    assert check.policy == "suspend" and check.state == "scheduled"
    event = AuditEvent.objects.get(action="receipt_check.schedule")
    assert event.actor_user is not None and event.actor_user.username == "clerk"
    page = clerk.get(f"/console/receipts/{check.pk}/").content.decode()
    assert "Cancel this check" in page and 'id="count-recipients">0<' in page


def test_list_page_shows_the_form_with_labels(clerk: Client) -> None:
    page = clerk.get("/console/receipts/").content.decode()
    assert '<label for="id_send_on"' in page and '<label for="id_deadline"' in page
    assert "<legend" in page  # the policy radios are a labelled group


@pytest.mark.parametrize(
    "data",
    [
        {"send_on": "yesterday"},
        {"send_on": "2024-02-30"},
        {"send_on": "9" * 5000},
        {"deadline": ""},
        {"policy": "delete"},
        {"send_on": days(-1)},
        {"deadline": days(3)},
        {"send_on": "<script>alert(1)</script>"},
    ],
)
def test_malformed_or_impossible_schedules_are_refused(clerk: Client, data: dict[str, str]) -> None:
    response = schedule(clerk, **data)
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert not ReceiptCheck.objects.exists()
    assert not AuditEvent.objects.exclude(action="staff.sign_in").exists()


def test_second_open_check_is_refused_with_a_reason(clerk: Client) -> None:
    schedule(clerk)
    response = schedule(clerk, send_on=days(8))
    assert response.status_code == 400
    assert "Another receipt check is scheduled or running." in response.content.decode()
    assert ReceiptCheck.objects.count() == 1


def test_outsider_can_neither_see_nor_schedule_nor_cancel(clerk: Client, outsider: Client) -> None:
    schedule(clerk)
    check = ReceiptCheck.objects.get()
    assert outsider.get("/console/receipts/").status_code == 403
    assert outsider.get(f"/console/receipts/{check.pk}/").status_code == 403
    assert schedule(outsider, send_on=days(9)).status_code == 403
    assert outsider.post(f"/console/receipts/{check.pk}/cancel/").status_code == 403
    assert ReceiptCheck.objects.get().state == "scheduled"
    assert ReceiptCheck.objects.count() == 1
    assert (
        AuditEvent.objects.exclude(action="staff.sign_in").count() == 1
    )  # only the clerk's schedule


def test_viewer_sees_results_but_cannot_schedule_or_cancel(clerk: Client, viewer: Client) -> None:
    schedule(clerk)
    check = ReceiptCheck.objects.get()
    page = viewer.get("/console/receipts/").content.decode()
    assert "Schedule the check" not in page
    assert "Cancel this check" not in viewer.get(f"/console/receipts/{check.pk}/").content.decode()
    assert schedule(viewer, send_on=days(9)).status_code == 403
    assert viewer.post(f"/console/receipts/{check.pk}/cancel/").status_code == 403
    assert ReceiptCheck.objects.get().state == "scheduled"


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get("/console/receipts/")
    assert response.status_code == 302 and "/console/login/" in response["Location"]


def test_cancel_before_start(clerk: Client) -> None:
    schedule(clerk)
    check = ReceiptCheck.objects.get()
    response = clerk.post(f"/console/receipts/{check.pk}/cancel/")
    assert response.status_code == 302
    assert ReceiptCheck.objects.get().state == "cancelled"
    assert AuditEvent.objects.filter(action="receipt_check.cancel").count() == 1
    assert clerk.get(f"/console/receipts/{check.pk}/cancel/").status_code == 405


def test_cancel_after_start_is_refused(clerk: Client, categories: dict[str, Any]) -> None:
    make_subscriber("hanako@example.jp", categories["bousai"])
    schedule(clerk, send_on=days(0), deadline=days(10))
    check = ReceiptCheck.objects.get()
    receipt_checks_run(now=check.starts_at + dt.timedelta(seconds=1))
    response = clerk.post(f"/console/receipts/{check.pk}/cancel/")
    assert response.status_code == 409
    assert "Only a check that has not started can be cancelled." in response.content.decode()
    assert ReceiptCheck.objects.get().state == "sent"
    assert not AuditEvent.objects.filter(action="receipt_check.cancel").exists()


def test_unknown_check_is_404(clerk: Client) -> None:
    assert clerk.get("/console/receipts/999999/").status_code == 404
    assert clerk.post("/console/receipts/999999/cancel/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_results_page_counts_sending_and_answers_and_stops_polling_when_closed(
    smtp_sink: Sink, clerk: Client, categories: dict[str, Any]
) -> None:
    for name in ("hanako", "taro", "jiro"):
        make_subscriber(f"{name}@example.jp", categories["bousai"])
    schedule(clerk, send_on=days(0), deadline=days(10), policy="keep")
    check = ReceiptCheck.objects.get()
    receipt_checks_run(now=check.starts_at + dt.timedelta(seconds=1))
    partial = clerk.get(f"/console/receipts/{check.pk}/", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    html = partial.content.decode()
    assert 'id="count-recipients">3<' in html and 'id="sending-sent">3<' in html
    assert 'id="count-not-yet">3<' in html and 'id="count-confirmed">0<' in html
    receipt_checks_run(now=check.deadline_at + dt.timedelta(seconds=1))
    done = clerk.get(f"/console/receipts/{check.pk}/", HTTP_HX_REQUEST="true")
    assert done.status_code == 286 and "Finished" in done.content.decode()
