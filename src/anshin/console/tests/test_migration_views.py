"""Staff console: importing the old system's subscribers (upload → preview → apply) with the
migration notice, and the result page with the notices' progress."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from anshin.conftest import Sink, make_subscriber, staff_login
from anshin.core.models import AuditEvent
from anshin.delivery.models import Notification
from anshin.residents.models import ResidentImport, Subscriber

pytestmark = pytest.mark.django_db(transaction=True)

BASIS = "旧システムからの移行 2017-03-01"
GOOD = (
    "メールアドレス,配信区分\r\nhanako@example.jp,防災\r\ntaro..jiro@docomo.ne.jp,bousai;bouhan\r\n"
)


@pytest.fixture(autouse=True)
def _home(settings: Any, tmp_path: Path) -> None:
    settings.HOME = tmp_path


def _client(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff_login(client, user)
    return client


@pytest.fixture
def clerk(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="import_subscribers"))
    return _client(user)


@pytest.fixture
def outsider(django_user_model: Any) -> Client:
    return _client(django_user_model.objects.create_user("other", password="x", is_staff=True))


def upload(client: Client, data: bytes, *, basis: str = BASIS, notify: bool = True) -> Any:
    form: dict[str, Any] = {"file": SimpleUploadedFile("old.csv", data), "basis": basis}
    if notify:
        form["notify"] = "on"
    return client.post("/console/residents/import/", form)


def apply_form(page: Any) -> dict[str, str]:
    html = page.content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def test_preview_shows_counts_and_changes_nothing(clerk: Client, smtp_sink: Sink) -> None:
    page = upload(clerk, GOOD.encode("cp932"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="count-created">2<' in html
    assert "Each new resident will get the migration notice." in html
    assert not Subscriber.objects.exists() and not ResidentImport.objects.exists()
    assert smtp_sink.messages == []


def test_apply_imports_notifies_and_shows_progress(
    clerk: Client, smtp_sink: Sink, categories: dict[str, Any]
) -> None:
    make_subscriber("hanako@example.jp", categories["bousai"])  # already registered
    response = clerk.post(
        "/console/residents/import/apply/", apply_form(upload(clerk, GOOD.encode()))
    )
    record = ResidentImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/console/residents/imports/{record.pk}/"
    assert [r for _, rcpts, _ in smtp_sink.messages for r in rcpts] == ["taro..jiro@docomo.ne.jp"]
    assert record.basis == BASIS and record.actor_user is not None
    html = clerk.get(response["Location"]).content.decode()
    assert 'id="notices-sent">1<' in html and 'id="count-already">1<' in html
    poll = clerk.get(response["Location"], HTTP_HX_REQUEST="true")
    assert poll.status_code == 286  # nothing waiting: htmx stops polling
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"residents.import", "residents.migration_notify"} <= actions


def test_apply_without_notify_sends_nothing(clerk: Client, smtp_sink: Sink) -> None:
    page = upload(clerk, GOOD.encode(), notify=False)
    clerk.post("/console/residents/import/apply/", apply_form(page))
    assert Subscriber.objects.count() == 2
    assert smtp_sink.messages == [] and not Notification.objects.exists()


def test_the_same_preview_cannot_be_applied_twice(clerk: Client, smtp_sink: Sink) -> None:
    form = apply_form(upload(clerk, GOOD.encode()))
    clerk.post("/console/residents/import/apply/", form)
    again = clerk.post("/console/residents/import/apply/", form)
    assert again.status_code == 400
    assert "no longer here" in again.content.decode()
    assert ResidentImport.objects.count() == 1 and len(smtp_sink.messages) == 2


@pytest.mark.parametrize("sha", ["", "../../etc/passwd", "0" * 64, "Z" * 64, "a" * 10_000])
def test_apply_with_a_forged_file_name_does_nothing(clerk: Client, sha: str) -> None:
    response = clerk.post(
        "/console/residents/import/apply/", {"sha256": sha, "basis": BASIS, "notify": "1"}
    )
    assert response.status_code == 400
    assert not Subscriber.objects.exists() and not ResidentImport.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"\x00\x01\x02binary", "The file is binary, not a CSV text file."),
        (b"PK\x03\x04rest", "This is an Excel workbook"),
        ("hanako@example.jp,防災".encode("utf-16"), "UTF-16"),
        (b"no comma here", "not a CSV of two columns"),
    ],
)
def test_unusable_files_are_refused_plainly(clerk: Client, data: bytes, message: str) -> None:
    response = upload(clerk, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Subscriber.objects.exists()


def test_oversized_file_is_refused(clerk: Client, settings: Any) -> None:
    settings.RESIDENT_IMPORT_MAX_BYTES = 1024 * 1024
    response = upload(clerk, b"a@example.jp,bousai\n" * 60_000)
    assert response.status_code == 400
    assert "larger than 1 MB" in response.content.decode()
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize("basis", ["", "   ", "line\nbreak", "x" * 201])
def test_bad_basis_is_refused(clerk: Client, basis: str) -> None:
    assert upload(clerk, GOOD.encode(), basis=basis).status_code == 400
    assert not Subscriber.objects.exists()


def test_hostile_cells_are_reported_by_line_without_being_echoed(clerk: Client) -> None:
    data = (
        b"email,categories\n"
        b'=HYPERLINK("http://evil"),bousai\n'
        b"<script>alert(1)</script>@example.jp,bousai\n"
        b"ok@example.jp,bousai\n"
    )
    page = upload(clerk, data)
    html = page.content.decode()
    assert page.status_code == 200
    assert "HYPERLINK" not in html and "<script>alert(1)" not in html
    rows = re.findall(r'<tr><td class="count">(\d+)</td>', html)
    assert rows == ["2", "3"]
    assert 'id="count-created">1<' in html


def test_outsider_cannot_upload_apply_or_see_results(
    clerk: Client, outsider: Client, smtp_sink: Sink
) -> None:
    form = apply_form(upload(clerk, GOOD.encode()))
    assert outsider.get("/console/residents/import/").status_code == 403
    assert upload(outsider, GOOD.encode()).status_code == 403
    assert outsider.post("/console/residents/import/apply/", form).status_code == 403
    assert not Subscriber.objects.exists() and smtp_sink.messages == []
    clerk.post("/console/residents/import/apply/", form)  # the file was still there
    record = ResidentImport.objects.get()
    assert outsider.get(f"/console/residents/imports/{record.pk}/").status_code == 403
