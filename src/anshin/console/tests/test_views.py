"""Staff console: sign-in, compose, preview exactly as sent, send, live progress."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from anshin.alerts.models import Alert
from anshin.conftest import Sink, make_subscriber, staff_login
from anshin.core.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clerk(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user(
        "clerk", password="correct horse battery", is_staff=True
    )
    client = Client()
    staff_login(client, user, roles=("author",))
    return client


def test_console_requires_sign_in() -> None:
    for path in ("/console/", "/console/compose/", "/console/alerts/1/"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/console/login/")


def test_sign_in_with_password(django_user_model: Any) -> None:
    django_user_model.objects.create_user("clerk", password="correct horse battery", is_staff=True)
    client = Client()
    bad = client.post("/console/login/", {"username": "clerk", "password": "wrong"})
    assert bad.status_code == 200 and "_auth_user_id" not in client.session
    good = client.post(
        "/console/login/", {"username": "clerk", "password": "correct horse battery"}
    )
    assert good.status_code == 302 and good["Location"] == "/console/"


def test_preview_shows_exactly_what_is_sent_and_sends_nothing(
    clerk: Client, smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    make_subscriber("a@example.jp", categories["bousai"])
    data = {
        "category": "bousai",
        "subject": "避難所開設",
        "body": "第一小学校を開設しました。",
        "preview": "1",
    }
    page = clerk.post("/console/compose/", data)
    assert page.status_code == 200
    html = page.content.decode()
    assert "[安心市 防災] 避難所開設" in html and "第一小学校を開設しました。" in html
    assert Alert.objects.count() == 0 and smtp_sink.messages == []


def test_send_publishes_and_shows_progress(
    clerk: Client, smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    make_subscriber("a@example.jp", categories["bousai"])
    make_subscriber("b@example.jp", categories["bousai"])
    data = {"category": "bousai", "subject": "避難所開設", "body": "開設しました。", "send": "1"}
    response = clerk.post("/console/compose/", data)
    alert = Alert.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/alerts/{alert.pk}/"
    assert len(smtp_sink.messages) == 2
    response = clerk.get(f"/console/alerts/{alert.pk}/", HTTP_HX_REQUEST="true")
    assert response.status_code == 286  # finished: htmx stops polling
    partial = response.content.decode()
    assert 'id="live-status" hx-swap-oob="innerHTML"' in partial
    assert 'id="count-total">2<' in partial and 'id="count-accepted">2<' in partial
    assert "<html" not in partial  # htmx gets only the progress panel
    history = clerk.get("/console/").content.decode()
    assert "避難所開設" in history
    event = AuditEvent.objects.get(action="alert.publish")
    assert event.actor_user is not None and event.actor_user.username == "clerk"


@pytest.mark.parametrize(
    ("subject", "body", "message"),
    [
        ("件名\r\nBcc: victim@example.jp", "本文", "one line"),
        ("件名\x00", "本文", "one line"),
        ("", "本文", "subject"),
        ("件名", "", "message"),
        ("あ" * 121, "本文", "too long"),
        ("件名", "あ" * 10_001, "too long"),
        ("件名", "本文\x1b[31m", "control"),
    ],
)
def test_bad_compose_input_is_refused_and_nothing_is_sent(
    clerk: Client,
    smtp_sink: Sink,
    categories: dict[str, Any],
    subject: str,
    body: str,
    message: str,
) -> None:
    data = {"category": "bousai", "subject": subject, "body": body, "send": "1"}
    response = clerk.post("/console/compose/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert (
        message in response.content.decode().lower()
        or "required" in response.content.decode().lower()
    )
    assert Alert.objects.count() == 0 and smtp_sink.messages == []


def test_unknown_category_is_refused(clerk: Client, smtp_sink: Sink) -> None:
    response = clerk.post(
        "/console/compose/",
        {"category": "99999999999999999999", "subject": "x", "body": "y", "send": "1"},
    )
    assert response.status_code == 400 and Alert.objects.count() == 0


def test_compose_requires_csrf(django_user_model: Any, categories: dict[str, Any]) -> None:
    user = django_user_model.objects.create_user(
        "clerk", password="correct horse battery", is_staff=True
    )
    client = Client(enforce_csrf_checks=True)
    staff_login(client, user, roles=("author",))
    data = {"category": "bousai", "subject": "s", "body": "b", "send": "1"}
    assert client.post("/console/compose/", data).status_code == 403
    assert Alert.objects.count() == 0


def test_mailbox_only_in_demo(clerk: Client, settings: Any) -> None:
    settings.DEMO = False
    assert clerk.get("/console/mailbox/").status_code == 404
    settings.DEMO = True
    assert clerk.get("/console/mailbox/").status_code == 200
    assert clerk.get("/console/mailbox/..%2F..%2Fetc%2Fpasswd/").status_code == 404


def test_suppression_list_shows_reason_and_subscriber_never_the_address(
    django_user_model: Any, categories: dict[str, Any]
) -> None:
    from anshin.core.audit import OPERATOR
    from anshin.delivery.bounces import suppression_add_manual
    from anshin.delivery.models import Suppression

    subscriber = make_subscriber("bounced.person@example.jp", categories["bousai"])
    suppression_add_manual(address="bounced.person@example.jp", actor=OPERATOR, reason_text="")
    admin = Client()
    staff_login(admin, django_user_model.objects.create_user("admin1"), roles=("administrator",))
    page = admin.get("/console/suppressions/").content.decode()
    assert f"#{subscriber.pk}" in page and "bounced.person" not in page
    suppression = Suppression.objects.get()
    assert admin.post(f"/console/suppressions/{suppression.pk}/remove/").status_code == 302
    assert Suppression.objects.count() == 0
    assert AuditEvent.objects.filter(action="suppression.remove").exists()


def test_an_author_can_neither_see_nor_empty_the_suppression_list(clerk: Client) -> None:
    from anshin.core.audit import OPERATOR
    from anshin.delivery.bounces import suppression_add_manual
    from anshin.delivery.models import Suppression

    suppression_add_manual(address="kept@example.jp", actor=OPERATOR, reason_text="")
    suppression = Suppression.objects.get()
    assert clerk.get("/console/suppressions/").status_code == 403
    assert clerk.post(f"/console/suppressions/{suppression.pk}/remove/").status_code == 403
    assert Suppression.objects.count() == 1
    assert not AuditEvent.objects.filter(action="suppression.remove").exists()
