"""The mail residents receive is well-formed Japanese with the headers carriers and clients need."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.test import Client

from anshin.alerts.models import Alert
from anshin.conftest import make_subscriber
from anshin.delivery import render

pytestmark = pytest.mark.django_db


def alert_mail(categories: dict[str, Any], settings: Any) -> Any:
    settings.BASE_URL = "https://mail.city.example.jp"
    settings.MAIL_FROM = "bousai@city.example.jp"
    subscriber = make_subscriber("taro..jiro@docomo.ne.jp", categories["bousai"])
    alert = Alert.objects.create(
        category=categories["bousai"],
        subject="大雨警報が発表されました",
        body="土砂災害に警戒してください。\n避難所を開設しました。",
        created_via="cli",
    )
    raw = render.render_alert(alert, subscriber, subscriber.email)
    return subscriber, raw, message_from_bytes(raw, policy=policy.default)


def test_alert_mail_headers(categories: dict[str, Any], settings: Any) -> None:
    subscriber, raw, mail = alert_mail(categories, settings)
    assert mail["Subject"] == "[安心市 防災] 大雨警報が発表されました"
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0]  # RFC 2047 encoded on the wire
    assert all(byte < 128 for byte in raw)  # 7-bit clean for any relay
    assert mail["To"] == "taro..jiro@docomo.ne.jp"
    assert mail["From"].addresses[0].addr_spec == "bousai@city.example.jp"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Id"] == "Disaster <bousai.city.example.jp>"
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith("@city.example.jp>")
    assert mail["Date"] is not None
    assert mail["List-Unsubscribe"].startswith("<https://mail.city.example.jp/unsubscribe/")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"


@pytest.mark.parametrize(
    ("status", "msg_type", "subject"),
    [
        ("Actual", "Alert", "[安心市 防災] 避難指示"),
        ("Exercise", "Alert", "[安心市 防災] 【訓練】避難指示"),
        ("Test", "Alert", "[安心市 防災] 【テスト】避難指示"),
        ("Actual", "Update", "[安心市 防災] 【続報】避難指示"),
        ("Exercise", "Cancel", "[安心市 防災] 【訓練】【取消】避難指示"),
    ],
)
def test_a_drill_a_test_or_a_follow_up_is_marked_in_the_subject(
    categories: dict[str, Any], status: str, msg_type: str, subject: str
) -> None:
    subscriber = make_subscriber("a@example.jp", categories["bousai"])
    alert = Alert.objects.create(
        category=categories["bousai"],
        subject="避難指示",
        body="本文",
        created_via="cli",
        status=status,
        msg_type=msg_type,
    )
    full = message_from_bytes(
        render.render_alert(alert, subscriber, "a@example.jp"), policy=policy.default
    )
    prepared = render.render_prepared(render.prepare_alert(alert), subscriber, "a@example.jp")
    assert full["Subject"] == subject
    assert message_from_bytes(prepared, policy=policy.default)["Subject"] == subject


def test_alert_mail_body_has_text_manage_link_and_inquiry(
    categories: dict[str, Any], settings: Any
) -> None:
    settings.INQUIRY_CONTACT = "地域安全課 042-000-0000"
    _, _, mail = alert_mail(categories, settings)
    text = mail.get_content().replace("\r\n", "\n")  # canonical CRLF line ends on the wire
    assert text.startswith("土砂災害に警戒してください。\n避難所を開設しました。\n")
    assert "https://mail.city.example.jp/manage/" in text
    assert "地域安全課 042-000-0000" in text


def test_manage_link_in_mail_opens_the_subscribers_page(
    categories: dict[str, Any], settings: Any
) -> None:
    subscriber, _, mail = alert_mail(categories, settings)
    path = mail["List-Unsubscribe"].strip("<>").removeprefix("https://mail.city.example.jp")
    page = Client().get(path)
    assert page.status_code == 200
    assert "taro" not in page.content.decode()  # the address never appears in a page or URL


def parsed_parts(raw: bytes) -> dict[str, Any]:
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail.defects == [] and all(not part.defects for part in mail.walk())
    headers = sorted((k, str(v)) for k, v in mail.items() if k not in ("Message-ID", "Date"))
    return {
        "headers": headers,
        "subject": str(mail["Subject"]),
        "body": mail.get_content(),
        "type": mail.get_content_type(),
        "charset": mail.get_content_charset(),
        "message_id": mail["Message-ID"],
    }


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("大雨警報が発表されました", "土砂災害に警戒してください。\n避難所を開設しました。"),
        ("Short ASCII subject", "One line"),
        ("長い件名" * 25, "あ" * 3000 + "\n\n" + "line with trailing spaces   \n最後の行"),
        ("記号 <>&\"' 入り", "URL https://example.jp/a?b=c&d=e\n\tタブ\n"),
    ],
)
def test_prepared_render_equals_full_render(
    categories: dict[str, Any], settings: Any, subject: str, body: str
) -> None:
    settings.MAIL_FROM = "bousai@city.example.jp"
    subscriber = make_subscriber("taro..jiro@docomo.ne.jp", categories["bousai"])
    alert = Alert.objects.create(
        category=categories["bousai"], subject=subject, body=body, created_via="cli"
    )
    full = parsed_parts(render.render_alert(alert, subscriber, subscriber.email))
    fast_raw = render.render_prepared(render.prepare_alert(alert), subscriber, subscriber.email)
    fast = parsed_parts(fast_raw)
    assert all(byte < 128 for byte in fast_raw)
    assert (
        fast["message_id"].endswith("@city.example.jp>")
        and fast["message_id"] != full["message_id"]
    )
    assert {k: v for k, v in fast.items() if k != "message_id"} == {
        k: v for k, v in full.items() if k != "message_id"
    }
    assert max(len(line) for line in fast_raw.split(b"\r\n")) <= 998


# --- Bulk notices, prepared once per batch ------------------------------------------------------


def prepared_notice(kind: str, categories: dict[str, Any], settings: Any) -> tuple[Any, Any]:
    import datetime as dt

    from anshin.residents.models import ReceiptCheck

    settings.BASE_URL = "https://mail.city.example.jp"
    settings.MAIL_FROM = "bousai@city.example.jp"
    subscriber = make_subscriber("taro..jiro@docomo.ne.jp", categories["bousai"])
    check = ReceiptCheck.objects.create(
        send_on=dt.date(2027, 6, 1),
        starts_at=dt.datetime(2027, 6, 1, 1, tzinfo=dt.UTC),
        deadline=dt.date(2027, 6, 30),
        deadline_at=dt.datetime(2027, 6, 30, 15, tzinfo=dt.UTC),
        policy="suspend",
    )
    prepared = render.prepare_notice(kind, categories=[categories["bousai"]], check=check)
    raw = render.render_notice(prepared, subscriber, subscriber.email)
    return raw, message_from_bytes(raw, policy=policy.default)


@pytest.mark.parametrize(
    ("kind", "subject", "links"),
    [
        (
            "migration",
            "【安心市】防犯・防災メールは新システムに移りました / Our alert mail has moved",
            ["/manage/", "/unsubscribe/"],
        ),
        (
            "receipt_check",
            "【安心市】年に一度の受信確認のお願い / Please confirm you receive our mail",
            ["/receipt/", "/manage/"],
        ),
        (
            "suspended",
            "【安心市】配信を一時停止しました / Your alert mail is paused",
            ["/resume/", "/unsubscribe/"],
        ),
    ],
)
def test_prepared_notice_is_a_well_formed_personal_mail(
    categories: dict[str, Any], settings: Any, kind: str, subject: str, links: list[str]
) -> None:
    raw, mail = prepared_notice(kind, categories, settings)
    assert all(byte < 128 for byte in raw)
    assert mail["Subject"] == subject
    assert mail["To"] == "taro..jiro@docomo.ne.jp"
    assert mail["From"].addresses[0].addr_spec == "bousai@city.example.jp"
    assert mail["Precedence"] == "bulk" and mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe"].startswith("<https://mail.city.example.jp/unsubscribe/")
    assert mail.get_content_charset() == "utf-8"
    text = mail.get_content()
    assert "\x00" not in text  # every placeholder was replaced
    for prefix in links:
        assert f"https://mail.city.example.jp{prefix}" in text
    client = Client()
    for path in re.findall(r"https://mail\.city\.example\.jp(/\S+/)", text):
        # Each link's token is valid: a bad one is 404 (the receipt page is 410 here only
        # because this check has not sent its mail).
        assert client.get(path, secure=True).status_code in (200, 302, 410), path


def test_prepared_receipt_mail_states_the_deadline_in_japanese(
    categories: dict[str, Any], settings: Any
) -> None:
    _raw, mail = prepared_notice("receipt_check", categories, settings)
    assert "2027年6月30日までに" in mail.get_content()


def test_two_recipients_of_one_prepared_notice_get_their_own_links(
    categories: dict[str, Any], settings: Any
) -> None:
    settings.BASE_URL = "https://mail.city.example.jp"
    prepared = render.prepare_notice("migration", categories=[], check=None)
    one = make_subscriber("one@example.jp")
    two = make_subscriber("two@example.jp")
    first = message_from_bytes(
        render.render_notice(prepared, one, one.email), policy=policy.default
    )
    second = message_from_bytes(
        render.render_notice(prepared, two, two.email), policy=policy.default
    )
    assert first["List-Unsubscribe"] != second["List-Unsubscribe"]
    assert first["Message-ID"] != second["Message-ID"]
    assert first["To"] == "one@example.jp" and second["To"] == "two@example.jp"
