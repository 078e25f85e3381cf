"""Privacy notice versions (S5): each save a new version, old ones kept, the registration page
shows the newest, and staff without the permission change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from anshin.core.audit import Actor
from anshin.core.models import AuditEvent
from anshin.governance import notices
from anshin.governance.tests.factories import client_for, staff_user
from anshin.residents.models import PrivacyNotice


@pytest.fixture
def editor(db: Any) -> Any:
    return staff_user("editor", "view_privacynotice", "add_privacynotice")


@pytest.mark.django_db
def test_publishing_keeps_every_version_and_the_registration_page_shows_the_newest(
    editor: Any, client: Client
) -> None:
    first = PrivacyNotice.objects.get()
    response = client_for(editor).post(
        "/console/governance/notices/",
        {"action": "publish", "body_ja": "新しいお知らせ第2版", "body_en": "Second notice"},
    )
    assert response.status_code == 302
    newest = PrivacyNotice.objects.order_by("-version").first()
    assert newest is not None and newest.version == first.version + 1
    assert PrivacyNotice.objects.get(pk=first.pk).body_ja == first.body_ja
    assert "新しいお知らせ第2版" in client.get("/subscribe/").content.decode()
    event = AuditEvent.objects.get(action="privacy_notice.publish")
    assert event.details == {"version": newest.version}


@pytest.mark.django_db
def test_preview_shows_the_changes_and_saves_nothing(editor: Any) -> None:
    current = PrivacyNotice.objects.get()
    response = client_for(editor).post(
        "/console/governance/notices/",
        {
            "action": "preview",
            "body_ja": current.body_ja + "\n追加の一文",
            "body_en": current.body_en,
        },
    )
    assert response.status_code == 200
    assert "<ins>+ 追加の一文</ins>" in response.content.decode()
    assert (
        PrivacyNotice.objects.count() == 1
        and AuditEvent.objects.exclude(action="staff.sign_in").count() == 0
    )


@pytest.mark.django_db
def test_an_unchanged_text_is_not_a_new_version(editor: Any) -> None:
    current = PrivacyNotice.objects.get()
    with pytest.raises(notices.NoticeUnchanged):
        notices.privacy_notice_publish(
            actor=Actor.staff(editor), body_ja=current.body_ja, body_en=current.body_en
        )
    assert PrivacyNotice.objects.count() == 1


@pytest.mark.django_db
def test_a_version_page_shows_its_text_and_the_changes_from_the_one_before(editor: Any) -> None:
    notices.privacy_notice_publish(actor=Actor.staff(editor), body_ja="甲\n乙", body_en="A")
    second = notices.privacy_notice_publish(
        actor=Actor.staff(editor), body_ja="甲\n丙", body_en="A"
    )
    text = client_for(editor).get(f"/console/governance/notices/{second.version}/").content.decode()
    assert "<del>- 乙</del>" in text and "<ins>+ 丙</ins>" in text


@pytest.mark.django_db
def test_the_list_counts_residents_registered_under_each_version(
    editor: Any, categories: Any
) -> None:
    from anshin.conftest import make_subscriber

    first = PrivacyNotice.objects.get()
    sub = make_subscriber("a@example.jp", categories["bousai"])
    sub.notice = first
    sub.save()
    [row] = notices.notice_versions()
    assert (row.notice, row.residents) == (first, 1)


@pytest.mark.django_db
def test_hostile_notice_text_is_shown_escaped(editor: Any) -> None:
    notices.privacy_notice_publish(
        actor=Actor.staff(editor), body_ja="<script>alert(1)</script>", body_en="x"
    )
    newest = PrivacyNotice.objects.order_by("-version").first()
    assert newest is not None
    text = client_for(editor).get(f"/console/governance/notices/{newest.version}/").content
    assert b"<script>alert" not in text and b"&lt;script&gt;" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"action": "publish", "body_ja": "", "body_en": "x"},
        {"action": "publish", "body_ja": "x" * 20001, "body_en": "x"},
        {"action": "publish"},
    ],
)
def test_empty_or_oversized_notices_are_refused(editor: Any, data: dict[str, str]) -> None:
    response = client_for(editor).post("/console/governance/notices/", data)
    assert response.status_code == 400 and PrivacyNotice.objects.count() == 1


@pytest.mark.django_db
def test_staff_without_the_permission_publish_nothing(editor: Any) -> None:
    reader = client_for(staff_user("reader", "view_privacynotice"))
    data = {"action": "publish", "body_ja": "改ざん", "body_en": "x"}
    assert reader.post("/console/governance/notices/", data).status_code == 403
    assert client_for(staff_user("nobody")).get("/console/governance/notices/").status_code == 403
    with pytest.raises(PermissionDenied):
        notices.privacy_notice_publish(
            actor=Actor.staff(staff_user("other", "view_privacynotice")), body_ja="x", body_en="y"
        )
    assert (
        PrivacyNotice.objects.count() == 1
        and AuditEvent.objects.exclude(action="staff.sign_in").count() == 0
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["999/", "0/", "abc/", "9" * 300 + "/"])
def test_unknown_versions_are_not_found(editor: Any, path: str) -> None:
    assert client_for(editor).get("/console/governance/notices/" + path).status_code == 404
