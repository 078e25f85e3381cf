"""Console pages for intake drafts and the registration codes: each behind its permission,
every decision audited, hostile input refused with nothing changed."""

from __future__ import annotations

import io
from typing import Any

import pypdfium2  # type: ignore[import-untyped]  # ships no type information
import pytest
import zxingcpp
from django.contrib.auth.models import Permission
from django.test import Client

from anshin.alerts.models import Alert
from anshin.conftest import staff_login
from anshin.core.models import AuditEvent
from anshin.inbound.models import IntakeDraft

pytestmark = pytest.mark.django_db


def _client(django_user_model: Any, name: str, *codenames: str) -> Client:
    user = django_user_model.objects.create_user(name, password="x", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    staff_login(client, user)
    return client


@pytest.fixture
def reviewer(django_user_model: Any) -> Client:
    return _client(django_user_model, "reviewer", "view_intakedraft", "change_intakedraft")


@pytest.fixture
def viewer(django_user_model: Any) -> Client:
    return _client(django_user_model, "viewer", "view_intakedraft")


@pytest.fixture
def outsider(django_user_model: Any) -> Client:
    return _client(django_user_model, "outsider")


@pytest.fixture
def draft() -> IntakeDraft:
    return IntakeDraft.objects.create(
        subject="【不審者情報】声かけ事案",
        body="3月1日午後4時ごろ、声かけがありました。\n<script>alert(1)</script>",
        source_from="info@mail.keishicho.example.jp",
        forwarded_by="officer@keishicho.example.jp",
        message_id="<m1@example.jp>",
    )


def _audits(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def test_drafts_list_masks_addresses(reviewer: Client, draft: IntakeDraft):
    page = reviewer.get("/console/inbound/").content.decode()
    assert "【不審者情報】声かけ事案" in page
    assert "i***@" in page and "info@mail.keishicho.example.jp" not in page
    assert "officer@" not in page


def test_draft_page_shows_source_and_escapes_body(reviewer: Client, draft: IntakeDraft):
    page = reviewer.get(f"/console/inbound/drafts/{draft.pk}/").content.decode()
    assert "info@mail.keishicho.example.jp" in page and "officer@keishicho.example.jp" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_use_as_alert_fills_compose_and_sends_nothing(reviewer: Client, draft: IntakeDraft):
    response = reviewer.post(f"/console/inbound/drafts/{draft.pk}/use/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'action="/console/compose/"' in page
    assert 'value="【不審者情報】声かけ事案"' in page
    assert "3月1日午後4時ごろ、声かけがありました。" in page
    assert '<option value="bouhan" selected>' in page
    draft.refresh_from_db()
    assert draft.state == IntakeDraft.State.USED and draft.decided_by is not None
    assert _audits("intake.use") == 1
    assert Alert.objects.count() == 0


def test_discard_archives_and_is_audited_once(reviewer: Client, draft: IntakeDraft):
    assert reviewer.post(f"/console/inbound/drafts/{draft.pk}/discard/").status_code == 302
    reviewer.post(f"/console/inbound/drafts/{draft.pk}/discard/")
    draft.refresh_from_db()
    assert draft.state == IntakeDraft.State.DISCARDED
    assert _audits("intake.discard") == 1
    assert "【不審者情報】" not in reviewer.get("/console/inbound/").content.decode()
    # a discarded draft cannot be used any more
    reviewer.post(f"/console/inbound/drafts/{draft.pk}/use/")
    assert _audits("intake.use") == 0


def test_viewer_cannot_decide_and_nothing_happens(viewer: Client, draft: IntakeDraft):
    assert viewer.get(f"/console/inbound/drafts/{draft.pk}/").status_code == 200
    assert viewer.post(f"/console/inbound/drafts/{draft.pk}/discard/").status_code == 403
    assert viewer.post(f"/console/inbound/drafts/{draft.pk}/use/").status_code == 403
    draft.refresh_from_db()
    assert draft.state == IntakeDraft.State.NEW and draft.decided_by is None
    assert AuditEvent.objects.filter(action__startswith="intake.").count() == 0


def test_staff_without_permission_see_no_drafts(outsider: Client, draft: IntakeDraft):
    assert outsider.get("/console/inbound/").status_code == 403
    assert outsider.get(f"/console/inbound/drafts/{draft.pk}/").status_code == 403
    assert "受信メール" not in outsider.get("/console/").content.decode()


def test_anonymous_is_sent_to_login(draft: IntakeDraft):
    client = Client()
    for url in ("/console/inbound/", "/console/inbound/registration/flyer.pdf"):
        response = client.get(url)
        assert response.status_code == 302 and "/console/login/" in response["Location"]
    assert client.post(f"/console/inbound/drafts/{draft.pk}/discard/").status_code == 302
    draft.refresh_from_db()
    assert draft.state == IntakeDraft.State.NEW


@pytest.mark.parametrize(
    "url",
    [
        "/console/inbound/drafts/999999/",
        "/console/inbound/drafts/99999999999999999999999/",
        "/console/inbound/drafts/-1/",
        "/console/inbound/drafts/abc/",
    ],
)
def test_hostile_draft_urls_are_404(reviewer: Client, url: str):
    assert reviewer.get(url).status_code == 404


def test_hostile_list_parameters_fall_back(reviewer: Client, draft: IntakeDraft):
    for query in ("?state=<script>", "?state=" + "x" * 5000, "?page=-1", "?page=9999999999999"):
        response = reviewer.get("/console/inbound/" + query)
        assert response.status_code == 200
        assert "<script>" not in response.content.decode().split("<main", 1)[1]


def test_get_does_not_decide(reviewer: Client, draft: IntakeDraft):
    assert reviewer.get(f"/console/inbound/drafts/{draft.pk}/discard/").status_code == 405
    draft.refresh_from_db()
    assert draft.state == IntakeDraft.State.NEW


def test_registration_codes_page(reviewer: Client, settings: Any):
    settings.INBOUND_DOMAIN = "anshin.example.jp"
    page = reviewer.get("/console/inbound/registration/").content.decode()
    assert page.count("<svg") == 2 and "touroku@anshin.example.jp" in page


def test_flyer_pdf_qr_codes_read_back_exactly(reviewer: Client, settings: Any):
    settings.INBOUND_DOMAIN = "anshin.example.jp"
    settings.BASE_URL = "https://mail.city.example.jp"
    response = reviewer.get("/console/inbound/registration/flyer.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    document = pypdfium2.PdfDocument(io.BytesIO(response.content))
    assert len(document) == 1
    width, height = document[0].get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    image = document[0].render(scale=3).to_pil()
    found = sorted(code.text for code in zxingcpp.read_barcodes(image))
    assert found == ["https://mail.city.example.jp/subscribe/", "mailto:touroku@anshin.example.jp"]
    text = document[0].get_textpage().get_text_range()
    assert "空メールを送って登録" in text and "安心市" in text
