"""The console's approval pages (the second person) and test sends to the test addresses,
through the real pages with two-factor sign-in, a real SMTP server and real tasks."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client

from anshin.alerts.models import Alert, Category
from anshin.conftest import Sink, make_subscriber, staff_login
from anshin.core.audit import OPERATOR
from anshin.core.models import AuditEvent
from anshin.delivery.canaries import canary_add
from anshin.delivery.models import Canary, CanaryMessage, Delivery

pytestmark = pytest.mark.django_db(transaction=True)

CANARY = "test.phone@docomo.ne.jp"
NEW = {"category": "bousai", "subject": "避難所開設", "body": "第一小学校を開設しました。"}


@pytest.fixture(autouse=True)
def _approval_role() -> None:
    importlib.import_module("anshin.core.migrations.0009_alert_approval_role").create(apps, None)


def signed_in(name: str, *roles: str) -> Client:
    user = User.objects.create_user(name, password="x")
    client = Client()
    staff_login(client, user, roles=roles)
    return client


@pytest.fixture
def guarded(categories: dict[str, Category]) -> Category:
    Category.objects.filter(slug="bousai").update(requires_approval=True)
    return Category.objects.get(slug="bousai")


@pytest.fixture
def author() -> Client:
    return signed_in("author", "author")


@pytest.fixture
def approver() -> Client:
    return signed_in("approver", "approver")


def held_alert(author: Client) -> Alert:
    response = author.post("/console/compose/", {**NEW, "send": "1"})
    alert = Alert.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/alerts/{alert.pk}/"
    return alert


def test_preview_of_an_approval_category_says_so(guarded: Category, author: Client) -> None:
    page = author.post("/console/compose/", {**NEW, "preview": "1"}).content.decode()
    assert 'id="approval-note"' in page and "承認を依頼する" in page


def test_compose_in_an_approval_category_holds_the_alert(
    guarded: Category, author: Client, smtp_sink: Sink
) -> None:
    make_subscriber("a@example.jp", guarded)
    alert = held_alert(author)
    assert alert.state == Alert.State.HELD and smtp_sink.messages == []
    page = author.get(f"/console/alerts/{alert.pk}/").content.decode()
    assert "承認を依頼しました" in page and "承認待ち" in page
    assert 'id="approval-wait"' in page and 'id="approve"' not in page
    assert "自分が作成した配信は承認できません" in page
    home = author.get("/console/").content.decode()
    assert 'data-state="held"' in home and "依頼者: author" in home


def test_an_approver_approves_and_every_subscriber_gets_it(
    guarded: Category, author: Client, approver: Client, smtp_sink: Sink
) -> None:
    make_subscriber("a@example.jp", guarded)
    make_subscriber("b@example.jp", guarded)
    alert = held_alert(author)
    home = approver.get("/console/").content.decode()
    assert re.search(r'id="nav-held">[^<]*\(1\)<', home)
    assert "避難所開設" in approver.get("/console/?state=held").content.decode()
    page = approver.get(f"/console/alerts/{alert.pk}/").content.decode()
    assert 'id="approve"' in page and 'id="reject"' in page and "依頼者" not in page
    response = approver.post(f"/console/alerts/{alert.pk}/approve/")
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == Alert.State.PUBLISHED and alert.decided_by is not None
    assert sorted(r for _, rs, _m in smtp_sink.messages for r in rs) == [
        "a@example.jp",
        "b@example.jp",
    ]
    progress = approver.get(f"/console/alerts/{alert.pk}/", HTTP_HX_REQUEST="true")
    assert 'id="count-accepted">2<' in progress.content.decode()
    again = approver.post(f"/console/alerts/{alert.pk}/approve/", follow=True)
    assert "すでに承認または差し戻し済み" in again.content.decode()
    assert len(smtp_sink.messages) == 2 and Delivery.objects.count() == 1


def test_approval_by_the_author_or_without_the_permission_is_refused(
    guarded: Category, author: Client, smtp_sink: Sink
) -> None:
    alert = held_alert(author)
    both = signed_in("both", "author", "approver")
    mine = both.post("/console/compose/", {**NEW, "subject": "自分の", "send": "1"})
    own = Alert.objects.get(subject="自分の")
    assert mine.status_code == 302
    before = AuditEvent.objects.count()
    assert author.post(f"/console/alerts/{alert.pk}/approve/").status_code == 403
    assert author.post(f"/console/alerts/{alert.pk}/reject/", {"reason": "x"}).status_code == 403
    assert both.post(f"/console/alerts/{own.pk}/approve/").status_code == 403
    assert both.post(f"/console/alerts/{own.pk}/reject/", {"reason": "x"}).status_code == 403
    assert 'id="approve"' not in both.get(f"/console/alerts/{own.pk}/").content.decode()
    assert set(Alert.objects.values_list("state", flat=True)) == {Alert.State.HELD}
    assert smtp_sink.messages == [] and AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "This field is required"), ("   ", "Say why"), ("理" * 1001, "too long")],
)
def test_a_bad_reason_is_refused_with_a_clear_error(
    guarded: Category, author: Client, approver: Client, reason: str, message: str
) -> None:
    alert = held_alert(author)
    response = approver.post(
        f"/console/alerts/{alert.pk}/reject/", {"reason": reason}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400 and message in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == Alert.State.HELD


def test_sending_back_records_the_reason_and_sends_nothing(
    guarded: Category, author: Client, approver: Client, smtp_sink: Sink
) -> None:
    make_subscriber("a@example.jp", guarded)
    alert = held_alert(author)
    response = approver.post(
        f"/console/alerts/{alert.pk}/reject/", {"reason": "<b>地名</b>が違います"}
    )
    assert response.status_code == 302
    page = author.get(f"/console/alerts/{alert.pk}/").content.decode()
    assert "&lt;b&gt;地名&lt;/b&gt;が違います" in page and 'data-state="rejected"' in page
    assert smtp_sink.messages == []
    assert AuditEvent.objects.filter(action="alert.reject").count() == 1


def test_a_test_send_from_the_preview_reaches_the_test_addresses_only_then_everyone(
    categories: dict[str, Category], author: Client, smtp_sink: Sink
) -> None:
    make_subscriber("a@example.jp", categories["bousai"])
    canary_add(actor=OPERATOR, address=CANARY, label="docomo")
    preview = author.post("/console/compose/", {**NEW, "preview": "1"}).content.decode()
    assert 'id="test-send"' in preview and "テスト送信（確認用アドレスのみ）" in preview
    response = author.post("/console/compose/", {**NEW, "test_send": "1"})
    alert = Alert.objects.get()
    assert response.status_code == 302 and alert.state == Alert.State.TEST
    assert [rcpts for _, rcpts, _m in smtp_sink.messages] == [[CANARY]]
    page = author.get(f"/console/alerts/{alert.pk}/").content.decode()
    assert "t***@d***.ne.jp (docomo)" in page and "中継サーバーが受理（250）" in page
    assert CANARY not in page and "test.phone" not in page
    assert 'id="release"' in page and f"/alerts/{alert.pk}/cap.xml" not in page

    text = smtp_sink.messages[0][2].get_content()
    assert text.startswith("【テスト送信】")
    path = re.findall(r"http://[^/]+(/console/canaries/confirm/\S+/)", text)[0]
    live = author.get(f"/console/alerts/{alert.pk}/canaries/", HTTP_HX_REQUEST="true")
    assert live.status_code == 200 and "未確認" in live.content.decode()
    Client().post(path)  # the person holding the test phone
    live = author.get(f"/console/alerts/{alert.pk}/canaries/", HTTP_HX_REQUEST="true")
    assert live.status_code == 286 and "到着確認済み" in live.content.decode()

    smtp_sink.clear()
    assert author.post(f"/console/alerts/{alert.pk}/release/").status_code == 302
    alert.refresh_from_db()
    assert alert.state == Alert.State.PUBLISHED
    assert sorted(r for _, rs, _m in smtp_sink.messages for r in rs) == ["a@example.jp", CANARY]


def test_without_test_addresses_there_is_no_test_send_button(
    categories: dict[str, Category], author: Client, smtp_sink: Sink
) -> None:
    preview = author.post("/console/compose/", {**NEW, "preview": "1"}).content.decode()
    assert 'id="test-send"' not in preview
    response = author.post(
        "/console/compose/", {**NEW, "test_send": "1"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400 and "No test addresses" in response.content.decode()
    assert Alert.objects.count() == 0 and smtp_sink.messages == []


def test_administrators_keep_the_test_addresses_masked(smtp_sink: Sink) -> None:
    admin = signed_in("admin", "administrator")
    added = admin.post("/console/canaries/", {"address": CANARY, "label": "docomo"}, follow=True)
    page = added.content.decode()
    assert added.status_code == 200 and "t***@d***.ne.jp" in page and "test.phone" not in page
    bad = admin.post("/console/canaries/", {"address": "no address", "label": ""})
    assert bad.status_code == 400 and Canary.objects.count() == 1
    again = admin.post("/console/canaries/", {"address": CANARY, "label": ""})
    assert again.status_code == 400 and "すでに確認用アドレス" in again.content.decode()
    canary = Canary.objects.get()
    assert admin.post(f"/console/canaries/{canary.pk}/remove/").status_code == 302
    canary.refresh_from_db()
    assert canary.removed_at is not None and bytes(canary.email_ciphertext) == b""
    assert AuditEvent.objects.filter(action__startswith="canary.").count() == 2


def test_only_administrators_see_or_change_the_test_addresses(author: Client) -> None:
    canary = canary_add(actor=OPERATOR, address=CANARY)
    assert author.get("/console/canaries/").status_code == 403
    assert author.post("/console/canaries/", {"address": "x@example.jp"}).status_code == 403
    assert author.post(f"/console/canaries/{canary.pk}/remove/").status_code == 403
    auditor = signed_in("auditor", "auditor")
    assert auditor.get("/console/canaries/").status_code == 403
    assert Canary.objects.filter(removed_at__isnull=True).count() == 1
    assert not CanaryMessage.objects.exists()


def test_the_test_send_again_button_of_a_held_alert(
    guarded: Category, author: Client, smtp_sink: Sink, settings: Any
) -> None:
    canary_add(actor=OPERATOR, address=CANARY)
    alert = held_alert(author)
    page = author.get(f"/console/alerts/{alert.pk}/").content.decode()
    assert 'id="test-send"' in page
    assert author.post(f"/console/alerts/{alert.pk}/test-send/").status_code == 302
    assert [rcpts for _, rcpts, _m in smtp_sink.messages] == [[CANARY]]
    alert.refresh_from_db()
    assert alert.state == Alert.State.HELD and alert.published_at is None
