"""Resident pages through Django's test client, mail through a real SMTP server on loopback."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from anshin.conftest import Sink, make_subscriber
from anshin.core import crypto
from anshin.delivery.models import Notification
from anshin.residents.models import MailBudget, Subscriber

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"http://127\.0\.0\.1:8000(/[^\s]+/)")


def subscribe(client: Client, email: str, *slugs: str, categories: dict[str, Any]) -> Any:
    data = {"email": email, "categories": [categories[s].pk for s in slugs]}
    return client.post("/subscribe/", data)


def link_in(mail: Any, prefix: str) -> str:
    body = mail.get_body(preferencelist=("plain",)).get_content()
    return next(path for path in LINK.findall(body) if path.startswith(prefix))


def test_new_address_gets_confirmation_mail_and_stays_pending(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    response = subscribe(Client(), "taro@example.jp", "bousai", categories=categories)
    assert response.status_code == 302 and response["Location"] == "/subscribe/sent/"
    (mail,) = smtp_sink.to("taro@example.jp")
    assert "メールアドレスの確認" in mail["Subject"]
    assert link_in(mail, "/subscribe/confirm/")
    subscriber = Subscriber.objects.get()
    assert subscriber.state == Subscriber.State.PENDING
    assert subscriber.notice is not None and subscriber.notice.version == 1


def test_confirm_link_get_shows_button_and_post_confirms(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    client = Client()
    subscribe(client, "taro..jiro@docomo.ne.jp", "bousai", "bouhan", categories=categories)
    (mail,) = smtp_sink.to("taro..jiro@docomo.ne.jp")
    path = link_in(mail, "/subscribe/confirm/")
    assert client.get(path).status_code == 200
    assert Subscriber.objects.get().state == Subscriber.State.PENDING  # a scanner's GET did nothing
    assert client.post(path).status_code == 200
    subscriber = Subscriber.objects.get()
    assert subscriber.state == Subscriber.State.ACTIVE
    complete = smtp_sink.to("taro..jiro@docomo.ne.jp")[-1]
    assert "登録完了" in complete["Subject"]
    assert sorted(c.slug for c in subscriber.categories.all()) == ["bouhan", "bousai"]


def test_confirm_link_is_single_use(smtp_sink: Sink, categories: dict[str, Any]) -> None:
    client = Client()
    subscribe(client, "hanako@example.jp", "bouhan", categories=categories)
    path = link_in(smtp_sink.to("hanako@example.jp")[0], "/subscribe/confirm/")
    assert client.post(path).status_code == 200
    second = client.post(path)
    assert second.status_code == 410
    assert "already been used" in second.content.decode() or "既に" in second.content.decode()


def test_same_page_for_new_and_already_subscribed(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    make_subscriber("known@example.jp", categories["bousai"])
    new = subscribe(Client(), "new@example.jp", "bousai", categories=categories)
    known = subscribe(Client(), "known@example.jp", "bousai", categories=categories)
    assert (new.status_code, new["Location"]) == (known.status_code, known["Location"])
    (mail,) = smtp_sink.to("known@example.jp")
    assert "登録済み" in mail["Subject"]
    assert link_in(mail, "/manage/")


def test_address_is_stored_encrypted(smtp_sink: Sink, categories: dict[str, Any]) -> None:
    subscribe(Client(), "secret.person@example.jp", "bousai", categories=categories)
    row = Subscriber.objects.get()
    assert b"secret.person" not in bytes(row.email_ciphertext)
    assert row.email_hash == crypto.lookup_hash("secret.person@example.jp")
    assert row.email == "secret.person@example.jp"


def test_confirmation_budget_three_a_day_ten_minutes_apart(
    smtp_sink: Sink, categories: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for minutes in (0, 5, 11, 22, 33, 44):
        monkeypatch.setattr(timezone, "now", lambda m=minutes: now + timedelta(minutes=m))
        subscribe(
            Client(REMOTE_ADDR=f"10.0.0.{minutes}"),
            "victim@example.jp",
            "bousai",
            categories=categories,
        )
    # t=0 sent, t=5 too soon, t=11 sent, t=22 sent, then the budget of 3 is spent
    assert len(smtp_sink.to("victim@example.jp")) == 3
    assert MailBudget.objects.get().count == 3
    assert Notification.objects.count() == 3
