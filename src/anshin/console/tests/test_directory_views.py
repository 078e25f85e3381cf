"""Staff console: the staff directory — masked list, CSV import (upload → preview → apply) and
export, with the permission checked before anything is read or written."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

from anshin.conftest import staff_login
from anshin.core.audit import OPERATOR
from anshin.core.masking import mask_email, mask_phone
from anshin.core.models import AuditEvent
from anshin.directory.models import DirectoryImport, StaffMember
from anshin.directory.services import directory_import

pytestmark = pytest.mark.django_db

HEADER = "職員番号,氏名,メールアドレス,電話番号,所属,役職"
GOOD_ROWS = (
    "A001,山田太郎,taro.yamada@city.anshin.lg.jp,090-1234-5678,防災課,主査",
    "A002,佐藤花子,hanako.sato@city.anshin.lg.jp,03-1234-5678,総務課,係長",
    "A003,髙橋一郎,ichiro@city.anshin.lg.jp,,危機管理課,",
)


def staff_csv(*rows: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode(encoding)


def csv_file(data: bytes, name: str = "staff.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.fixture(autouse=True)
def _uploads_home(settings: Any, tmp_path: Path) -> Path:
    settings.HOME = tmp_path
    return tmp_path / "uploads"


def _client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff_login(client, user)
    return client


@pytest.fixture
def clerk(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    for codename in ("import_staffmember", "export_staffmember"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return _client(user)


@pytest.fixture
def outsider(django_user_model: Any) -> Client:
    """A signed-in staff user without the directory permissions."""
    return _client(django_user_model.objects.create_user("other", password="x", is_staff=True))


def preview(client: Client, data: bytes, **extra: str) -> Any:
    return client.post("/console/directory/upload/", {"file": csv_file(data), **extra})


def sha_of(page: Any) -> str:
    match = re.search(r'name="sha256" value="([0-9a-f]{64})"', page.content.decode())
    assert match, "the preview has no apply form"
    return match.group(1)


def count_in(page: Any, name: str) -> int:
    match = re.search(rf'id="count-{name}">(\d+)<', page.content.decode())
    assert match, f"no count-{name} on the page"
    return int(match.group(1))


def test_cp932_file_with_a_bad_row_lists_the_line_and_applies_nothing(
    clerk: Client, _uploads_home: Path
) -> None:
    bad = "A002,佐藤花子,hanako.sato.city.anshin.lg.jp,,総務課,"  # line 3: no @
    page = preview(clerk, staff_csv(GOOD_ROWS[0], bad, GOOD_ROWS[2], encoding="cp932"))
    assert page.status_code == 400
    html = page.content.decode()
    errors = re.search(r'<table id="row-errors".*?</table>', html, re.S)
    assert errors and re.search(r'<td class="count">3</td>', errors.group(0))
    assert "hanako.sato" not in html  # a message never quotes a cell
    assert 'name="sha256"' not in html  # no apply button
    assert "メールアドレス" in html  # the mapping: header as in the file
    assert StaffMember.objects.count() == 0 and DirectoryImport.objects.count() == 0
    assert not _uploads_home.exists() or not list(_uploads_home.iterdir())


def test_good_file_preview_then_apply(clerk: Client, _uploads_home: Path) -> None:
    page = preview(clerk, staff_csv(*GOOD_ROWS, encoding="cp932"))
    assert page.status_code == 200
    assert count_in(page, "rows") == 3 and count_in(page, "created") == 3
    assert StaffMember.objects.count() == 0  # the preview writes nothing
    sha = sha_of(page)
    stored = _uploads_home / f"{sha}.csv"
    assert stored.exists() and stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert sha.encode() not in clerk.cookies.output().encode()  # not in the session cookie

    result = clerk.post("/console/directory/apply/", {"sha256": sha})
    assert result.status_code == 200
    assert count_in(result, "created") == 3
    assert StaffMember.objects.filter(active=True).count() == 3
    (record,) = DirectoryImport.objects.all()
    assert record.file_sha256 == sha and record.counts["created"] == 3
    assert not stored.exists()

    again = clerk.post("/console/directory/apply/", {"sha256": sha})  # a second click
    assert again.status_code == 400 and DirectoryImport.objects.count() == 1


def test_deactivate_missing_is_previewed_and_applied(clerk: Client) -> None:
    with translation.override("en"):
        directory_import(data=staff_csv(*GOOD_ROWS), actor=OPERATOR)
    page = preview(clerk, staff_csv(GOOD_ROWS[0]), deactivate_missing="1")
    assert count_in(page, "deactivated") == 2 and count_in(page, "unchanged") == 1
    result = clerk.post(
        "/console/directory/apply/", {"sha256": sha_of(page), "deactivate_missing": "1"}
    )
    assert count_in(result, "deactivated") == 2
    assert StaffMember.objects.filter(active=True).count() == 1


def test_apply_with_a_tampered_sha_or_file_is_refused(clerk: Client, _uploads_home: Path) -> None:
    page = preview(clerk, staff_csv(*GOOD_ROWS))
    sha = sha_of(page)
    for forged in ("0" * 64, "../../etc/passwd", sha.upper(), ""):
        result = clerk.post("/console/directory/apply/", {"sha256": forged})
        assert result.status_code == 400
    # The stored file changed after the preview: the service refuses it.
    (_uploads_home / f"{sha}.csv").write_bytes(staff_csv(GOOD_ROWS[0]))
    result = clerk.post("/console/directory/apply/", {"sha256": sha})
    assert result.status_code == 400 and 'id="import-problem"' in result.content.decode()
    assert StaffMember.objects.count() == 0 and DirectoryImport.objects.count() == 0


def test_without_permission_403_and_nothing_written(outsider: Client, _uploads_home: Path) -> None:
    data = staff_csv(*GOOD_ROWS)
    assert outsider.get("/console/directory/").status_code == 403
    assert outsider.get("/console/directory/upload/").status_code == 403
    assert preview(outsider, data).status_code == 403
    assert not _uploads_home.exists()
    # Even with a file another clerk previewed.
    _uploads_home.mkdir()
    sha = hashlib.sha256(data).hexdigest()
    (_uploads_home / f"{sha}.csv").write_bytes(data)
    assert outsider.post("/console/directory/apply/", {"sha256": sha}).status_code == 403
    assert (_uploads_home / f"{sha}.csv").exists()
    export = outsider.post("/console/directory/export/", {"encoding": "utf-8"})
    assert export.status_code == 403
    assert StaffMember.objects.count() == 0 and DirectoryImport.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="directory.").exists()


def test_signed_out_is_sent_to_sign_in() -> None:
    response = Client().get("/console/directory/")
    assert response.status_code == 302 and response["Location"].startswith("/console/login/")


def test_list_shows_counts_and_masked_contact_data_only(clerk: Client) -> None:
    with translation.override("en"):
        directory_import(data=staff_csv(*GOOD_ROWS), actor=OPERATOR)
        directory_import(data=staff_csv(*GOOD_ROWS[:2]), actor=OPERATOR, deactivate_missing=True)
    page = clerk.get("/console/directory/")
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'id="staff-active">\s*2 ', html)
    assert re.search(r'id="staff-inactive">\s*1 ', html)
    for secret in (
        "taro.yamada",
        "hanako.sato",
        "ichiro@",
        "city.anshin.lg.jp",
        "1234-5678",
        "12345678",
        "山田太郎",
        "佐藤花子",
    ):
        assert secret not in html, secret
    assert "t***@a***.lg.jp" in html and "090-****-5678" in html and "03-****-5678" in html
    assert "防災課" in html  # attributes are not contact data


def test_masks() -> None:
    assert mask_email("taro@city.lg.jp") == "t***@c***.lg.jp"
    assert mask_email("taro..jiro@docomo.ne.jp") == "t***@d***.ne.jp"
    assert mask_email("a@example.com") == "a***@e***.com"
    assert mask_email("x@localhost") == "x***@l***"
    assert mask_phone("+819012345678") == "090-****-5678"
    assert mask_phone("+81312345678") == "03-****-5678"
    assert mask_phone("") == ""


def test_export_is_a_csv_attachment(clerk: Client) -> None:
    with translation.override("en"):
        directory_import(data=staff_csv(*GOOD_ROWS), actor=OPERATOR)
    for encoding in ("utf-8", "cp932"):
        response = clerk.post("/console/directory/export/", {"encoding": encoding})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"].startswith("attachment; filename=")
        text = response.content.decode("utf-8-sig" if encoding == "utf-8" else "cp932")
        assert "taro.yamada@city.anshin.lg.jp" in text and "髙橋一郎" in text
    assert clerk.get("/console/directory/export/").status_code == 405
    assert AuditEvent.objects.filter(action="directory.export").count() == 2


def test_export_in_cp932_refuses_what_it_cannot_encode(clerk: Client) -> None:
    with translation.override("en"):
        directory_import(data=staff_csv("A009,𠮷田葵,aoi@city.anshin.lg.jp,,,"), actor=OPERATOR)
    response = clerk.post("/console/directory/export/", {"encoding": "cp932"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="export-errors"' in html and "U+20BB7" in html
    assert "aoi@" not in html


def test_a_preview_never_applied_is_removed_a_day_later(clerk: Client, _uploads_home: Path) -> None:
    sha = sha_of(preview(clerk, staff_csv(*GOOD_ROWS)))
    old = _uploads_home / f"{sha}.csv"
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    fresh = sha_of(preview(clerk, staff_csv(GOOD_ROWS[0])))
    assert not old.exists() and (_uploads_home / f"{fresh}.csv").exists()
