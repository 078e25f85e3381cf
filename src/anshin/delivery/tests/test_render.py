"""The mail residents receive is well-formed Japanese with the headers carriers and clients need."""

from __future__ import annotations

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
