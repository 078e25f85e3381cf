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
    data = {"email": email, "categories": list(slugs)}
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
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    subscribe(client, "hanako@example.jp", "bouhan", categories=categories)
    path = link_in(smtp_sink.to("hanako@example.jp")[0], "/subscribe/confirm/")
    assert client.post(path).status_code == 200
    second = client.post(path)
    assert second.status_code == 410
    assert "already been used" in second.content.decode()


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


def test_the_notice_version_shown_is_the_one_recorded(
    smtp_sink: Sink, categories: dict[str, Any], notice: Any
) -> None:
    from django.utils import timezone

    from anshin.residents.models import PrivacyNotice

    page = Client().get("/subscribe/").content.decode()
    assert 'name="notice_version" value="1"' in page and notice.body_ja[:20] in page
    PrivacyNotice.objects.create(
        version=2, body_ja="第2版", body_en="v2", published_at=timezone.now()
    )
    data = {"email": "a@example.jp", "categories": ["bousai"], "notice_version": "1"}
    Client().post("/subscribe/", data)
    assert Subscriber.objects.get().notice == notice
    assert "第2版" in Client().get("/subscribe/").content.decode()


def test_links_in_mail_come_from_base_url_not_the_request_host(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any
) -> None:
    settings.ALLOWED_HOSTS = ["evil.example", "bousai.city.example.jp"]
    settings.BASE_URL = "https://bousai.city.example.jp"
    subscribe(
        Client(HTTP_HOST="evil.example"), "hosted@example.jp", "bousai", categories=categories
    )
    (mail,) = smtp_sink.to("hosted@example.jp")
    body = mail.get_content()
    assert "https://bousai.city.example.jp/subscribe/confirm/" in body
    assert "evil.example" not in mail.as_string()


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


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("not-an-address", "needs an @"),
        ("taro..jiro@gmail.com", "before @"),
        ("taro@localhost", "not a valid domain"),
        ("a\r\nBcc: x@example.jp", "line breaks"),
        ("", "required"),
        ("x" * 400 + "@example.jp", "at most 320"),
    ],
)
def test_invalid_address_gets_a_clear_message_and_nothing_is_stored(
    smtp_sink: Sink, categories: dict[str, Any], email: str, message: str
) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/subscribe/", {"email": email, "categories": ["bousai"]}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Subscriber.objects.count() == 0 and smtp_sink.messages == []


def test_at_least_one_category_is_required(smtp_sink: Sink) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/subscribe/", {"email": "a@example.jp"})
    assert response.status_code == 400
    assert "Choose at least one" in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_hostile_category_values_are_refused(smtp_sink: Sink) -> None:
    for value in ("1 OR 1=1", "-1", "99999999999999999999", "1", "<script>"):
        response = Client().post("/subscribe/", {"email": "a@example.jp", "categories": [value]})
        assert response.status_code == 400
    assert Subscriber.objects.count() == 0


def test_subscribe_form_requires_csrf(smtp_sink: Sink, categories: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/subscribe/", {"email": "a@example.jp", "categories": ["bousai"]})
    assert response.status_code == 403 and Subscriber.objects.count() == 0


def test_confirmation_mail_holds_nothing_typed_but_the_address(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    Client().post(
        "/subscribe/",
        {"email": "a@example.jp", "categories": ["bousai"], "note": "Buy cheap pills"},
    )
    (mail,) = smtp_sink.to("a@example.jp")
    assert "cheap" not in mail.as_string()


def test_per_ip_throttle_answers_the_same_page_and_sends_nothing_more(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any
) -> None:
    settings.IP_SUBSCRIBE_LIMIT = 3
    client = Client(REMOTE_ADDR="192.0.2.7")
    responses = [
        subscribe(client, f"u{i}@example.jp", "bousai", categories=categories) for i in range(5)
    ]
    assert {(r.status_code, r["Location"]) for r in responses} == {(302, "/subscribe/sent/")}
    assert len(smtp_sink.messages) == 3
    subscribe(Client(REMOTE_ADDR="192.0.2.8"), "other@example.jp", "bousai", categories=categories)
    assert len(smtp_sink.messages) == 4


def test_forwarded_for_is_ignored_unless_from_a_trusted_proxy(
    smtp_sink: Sink, categories: dict[str, Any], settings: Any
) -> None:
    settings.IP_SUBSCRIBE_LIMIT = 1
    for i in range(3):  # a forged header must not buy a fresh budget
        client = Client(REMOTE_ADDR="192.0.2.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        subscribe(client, f"f{i}@example.jp", "bousai", categories=categories)
    assert len(smtp_sink.messages) == 1
    settings.TRUSTED_PROXIES = ["192.0.2.9"]
    client = Client(REMOTE_ADDR="192.0.2.9", HTTP_X_FORWARDED_FOR="198.51.100.50")
    subscribe(client, "g@example.jp", "bousai", categories=categories)
    assert len(smtp_sink.messages) == 2


def test_expired_confirmation_link_gets_a_friendly_page(
    smtp_sink: Sink, categories: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from django.core import signing

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    subscribe(client, "late@example.jp", "bousai", categories=categories)
    path = link_in(smtp_sink.to("late@example.jp")[0], "/subscribe/confirm/")
    real = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real() + 72 * 3600 + 1)  # type: ignore[attr-defined]
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 410
        assert "72 hours" in response.content.decode()
    assert Subscriber.objects.get().state == Subscriber.State.PENDING


@pytest.mark.parametrize(
    "path",
    [
        "/subscribe/confirm/garbage/",
        "/subscribe/confirm/" + "A" * 5000 + "/",
        "/manage/eyJ.forged.token/",
        "/unsubscribe/%00%0d%0a/",
        "/manage/../../etc/passwd/",
    ],
)
def test_unknown_tokens_get_a_friendly_page_never_a_500(path: str) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for response in (client.get(path), client.post(path)):
        assert response.status_code in (404, 410)
        assert "Traceback" not in response.content.decode()


def test_one_click_unsubscribe_is_a_cookieless_post_answered_200(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    from anshin.delivery import render

    subscriber = make_subscriber("leave@example.jp", categories["bousai"])
    path = render.unsubscribe_url(subscriber).removeprefix("http://127.0.0.1:8000")
    client = Client(enforce_csrf_checks=True)
    assert client.get(path).status_code == 200
    assert Subscriber.objects.get().state == Subscriber.State.ACTIVE  # GET alone changes nothing
    mail_client = Client(enforce_csrf_checks=True)  # no cookies, no CSRF token: as a mail client
    response = mail_client.post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200  # answered directly, not a redirect
    assert Subscriber.objects.get().state == Subscriber.State.UNSUBSCRIBED


def test_manage_page_changes_categories(smtp_sink: Sink, categories: dict[str, Any]) -> None:
    from anshin.delivery import render

    subscriber = make_subscriber("m@example.jp", categories["bousai"])
    path = render.manage_url(subscriber).removeprefix("http://127.0.0.1:8000")
    client = Client()
    client.get(path)
    response = client.post(path, {"categories": ["bouhan"]})
    assert response.status_code == 200
    assert [c.slug for c in Subscriber.objects.get().categories.all()] == ["bouhan"]
    empty = client.post(path, {})
    assert empty.status_code == 400
    assert [c.slug for c in Subscriber.objects.get().categories.all()] == ["bouhan"]


def test_resubscribing_after_leaving_needs_a_new_confirmation(
    smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    make_subscriber("back@example.jp", categories["bousai"], state=Subscriber.State.UNSUBSCRIBED)
    subscribe(Client(), "BACK@EXAMPLE.JP".replace("BACK", "back"), "bouhan", categories=categories)
    subscriber = Subscriber.objects.get()
    assert subscriber.state == Subscriber.State.PENDING
    assert "メールアドレスの確認" in smtp_sink.to("back@example.jp")[0]["Subject"]


def test_domain_compares_case_insensitively(smtp_sink: Sink, categories: dict[str, Any]) -> None:
    make_subscriber("Taro@example.jp", categories["bousai"])
    subscribe(Client(), "Taro@EXAMPLE.JP", "bousai", categories=categories)
    assert Subscriber.objects.count() == 1
    assert "登録済み" in smtp_sink.messages[0][2]["Subject"]
