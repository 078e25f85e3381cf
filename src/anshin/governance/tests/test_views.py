"""The public transparency page and the console's certificate list and download."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from anshin.conftest import make_subscriber, staff_login
from anshin.core.audit import OPERATOR
from anshin.core.models import AuditEvent
from anshin.governance import signing
from anshin.governance.models import Certificate
from anshin.governance.services import retention_purge
from anshin.governance.tests.factories import days_ago, subscriber_dated


@pytest.fixture
def issued(categories: Any) -> Certificate:
    sub = make_subscriber("left@example.jp", categories["bousai"], state="unsubscribed")
    subscriber_dated(sub, unsubscribed_at=days_ago(45))
    make_subscriber("active@example.jp", categories["bousai"])
    retention_purge(actor=OPERATOR)
    return Certificate.objects.get()


def _staff(*perms: str) -> Client:
    user = User.objects.create_user("clerk", password="clerk-passphrase-12345")
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    staff_login(client, user)
    return client


@pytest.mark.django_db
def test_transparency_page_shows_live_periods_figures_and_the_key_in_japanese(
    client: Client, settings: Any, issued: Certificate
) -> None:
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "delivery": 123}
    page = client.get("/transparency/", HTTP_ACCEPT_LANGUAGE="ja")
    text = page.content.decode()
    assert page.status_code == 200
    assert "個人情報の取扱いについて" in text
    label = "配信記録（配信メール、登録者へのお知らせ、不達通知）"
    assert f'<tr id="period-delivery"><td>{label}</td><td>123日</td></tr>' in text
    assert '<dd id="figure-subscribers">1</dd>' in text
    assert '<dd id="figure-certificates">1</dd>' in text
    assert signing.fingerprint() in text
    assert signing.public_pem().strip().splitlines()[1] in text
    assert settings.INQUIRY_CONTACT in text
    assert "left@" not in text and "active@" not in text


@pytest.mark.django_db
def test_transparency_page_in_english(client: Client) -> None:
    client.cookies["django_language"] = "en"
    text = client.get("/transparency/").content.decode()
    assert "How we handle your data" in text
    assert "<td>Audit log entries</td><td>1827 days</td>" in text


@pytest.mark.django_db
def test_the_published_key_downloads_and_verifies_certificates(
    client: Client, issued: Certificate
) -> None:
    response = client.get("/transparency/certificate-key.pem")
    key = signing.load_public_key(response.content.decode())
    assert signing.signature_valid(
        key, signing.canonical(issued.content), signing.unb64(issued.signature)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["?lang=<script>", "?" + "a=1&" * 2000, "?page=-1"])
def test_transparency_page_ignores_hostile_queries(client: Client, query: str) -> None:
    response = client.get("/transparency/" + query)
    assert response.status_code == 200
    assert b"<script>" not in response.content


@pytest.mark.django_db
def test_transparency_page_refuses_writes(client: Client) -> None:
    assert client.post("/transparency/", {"x": "y" * 10_000}).status_code == 405
    assert client.delete("/transparency/").status_code == 405


@pytest.mark.django_db
def test_certificates_page_needs_a_login(client: Client, issued: Certificate) -> None:
    response = client.get("/console/governance/certificates/")
    assert response.status_code == 302 and "/console/login/" in response["Location"]
    assert client.get(f"/console/governance/certificates/{issued.pk}/pdf/").status_code == 302


@pytest.mark.django_db
def test_staff_without_the_permission_see_and_download_nothing(issued: Certificate) -> None:
    client = _staff()
    before = AuditEvent.objects.count()
    assert client.get("/console/governance/certificates/").status_code == 403
    response = client.get(f"/console/governance/certificates/{issued.pk}/pdf/")
    assert response.status_code == 403 and b"%PDF" not in response.content
    assert AuditEvent.objects.count() == before
    assert Certificate.objects.get().issued_at == issued.issued_at


@pytest.mark.django_db
def test_permitted_staff_list_and_download_a_certificate(issued: Certificate) -> None:
    client = _staff("view_certificate")
    listing = client.get(
        "/console/governance/certificates/", HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    assert issued.serial in listing and "配信を解除した方のメールアドレス" in listing
    response = client.get(f"/console/governance/certificates/{issued.pk}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="deletion-certificate-{issued.serial}.pdf"'
    )
    assert response.content == bytes(issued.pdf)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["999999/pdf/", "0/pdf/", "abc/pdf/", "1" * 400 + "/pdf/"])
def test_unknown_or_malformed_certificate_ids_are_not_found(issued: Certificate, path: str) -> None:
    client = _staff("view_certificate")
    assert client.get("/console/governance/certificates/" + path).status_code == 404


@pytest.mark.django_db
def test_the_download_is_get_only(issued: Certificate) -> None:
    client = _staff("view_certificate")
    assert client.post(f"/console/governance/certificates/{issued.pk}/pdf/").status_code == 405
    assert Certificate.objects.count() == 1


@pytest.mark.django_db
def test_the_governance_nav_link_shows_only_to_staff_with_a_governance_permission() -> None:
    without = _staff().get("/console/governance/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert ">ガバナンス</a>" not in without
    User.objects.filter(username="clerk").update(username="clerk-before")
    page = _staff("view_incident").get("/console/governance/", HTTP_ACCEPT_LANGUAGE="ja")
    text = page.content.decode()
    assert '<a href="/console/governance/">ガバナンス</a>' in text
    assert (
        "/console/governance/incidents/" in text and "/console/governance/disclosures/" not in text
    )
