"""Two-factor staff login: enrolment through the real pages, codes (wrong, replayed, backup),
and the one middleware that keeps an unverified session out of every console page."""

from __future__ import annotations

import re
from base64 import b32decode
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from anshin.conftest import _hotp, staff_device, staff_login, totp_code
from anshin.core.models import AuditEvent
from anshin.core.otp import normalise_code
from anshin.core.otp_services import stored_backup_code

pytestmark = pytest.mark.django_db

PASSWORD = "clerk-passphrase-12345"
LOGIN, VERIFY, ENROL = "/console/login/", "/console/otp/verify/", "/console/otp/enrol/"
CODES = "/console/otp/backup-codes/"


@pytest.fixture
def clerk() -> User:
    return User.objects.create_user("clerk", password=PASSWORD)


def password_only(client: Client, user: User) -> Any:
    return client.post(LOGIN, {"username": user.username, "password": PASSWORD})


def current_code_for_key(secret_text: str) -> str:
    import time

    return _hotp(b32decode(secret_text.replace(" ", "")), int(time.time()) // 30)


def backup_codes_on(page: str) -> list[str]:
    return re.findall(r'<li><code lang="en">([a-z2-7]{4}-[a-z2-7]{4})</code></li>', page)


# --- Enrolment ------------------------------------------------------------------------------


def test_first_sign_in_enrols_an_authenticator_and_shows_ten_backup_codes_once(
    clerk: User,
) -> None:
    client = Client()
    assert password_only(client, clerk)["Location"] == "/console/"
    assert client.get("/console/")["Location"] == ENROL + "?next=%2Fconsole%2F"
    page = client.get(ENROL + "?next=/console/compose/").content.decode()
    secret = re.search(r'<code id="otp-secret" lang="en">([A-Z2-7 ]+)</code>', page)
    assert secret and "<svg" in page
    # A reload shows the same secret: a QR code scanned before it still works.
    assert secret.group(1) in client.get(ENROL).content.decode()
    done = client.post(
        ENROL, {"code": current_code_for_key(secret.group(1)), "next": "/console/compose/"}
    )
    shown = done.content.decode()
    assert done.status_code == 200 and "no-store" in done["Cache-Control"]
    codes = backup_codes_on(shown)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/console/compose/"' in shown
    assert client.get("/console/").status_code == 200  # verified now
    device = TOTPDevice.objects.get(user=clerk)
    assert device.confirmed and device.key == b32decode(secret.group(1).replace(" ", "")).hex()
    assert StaticToken.objects.filter(device__user=clerk).count() == 10
    assert AuditEvent.objects.filter(action="staff.otp_enrolled", target_id=str(clerk.pk)).count()
    # The codes are not shown again anywhere.
    assert backup_codes_on(client.get(CODES).content.decode()) == []


def test_enrolment_refuses_a_wrong_code_and_stays_unconfirmed(clerk: User) -> None:
    client = Client()
    password_only(client, clerk)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=clerk)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(ENROL, {"code": wrong})
    assert response.status_code == 400 and 'aria-invalid="true"' in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and not StaticToken.objects.exists()
    assert client.get("/console/").status_code == 302


def test_an_enrolled_user_cannot_enrol_a_second_authenticator(clerk: User) -> None:
    device = staff_device(clerk)
    client = Client()
    password_only(client, clerk)
    assert client.get(ENROL)["Location"] == VERIFY
    client.post(ENROL, {"code": "123456"})
    assert list(TOTPDevice.objects.filter(user=clerk)) == [device]


# --- Verify ---------------------------------------------------------------------------------


def test_password_then_code_through_the_real_pages_reaches_the_console(clerk: User) -> None:
    client = Client()
    staff_login(client, clerk, password=PASSWORD)
    assert client.get("/console/").status_code == 200


def test_a_wrong_code_is_refused_and_the_session_stays_unverified(
    clerk: User, settings: Any
) -> None:
    device = staff_device(clerk)
    client = Client()
    password_only(client, clerk)
    wrong = f"{(int(totp_code(device)) + 500_000) % 1_000_000:06d}"
    response = client.post(VERIFY, {"code": wrong})
    assert response.status_code == 400
    assert "その確認コードは正しくないか" in response.content.decode()
    assert client.get("/console/")["Location"].startswith(VERIFY)
    device.refresh_from_db()
    assert device.throttling_failure_count == 1


def test_repeated_wrong_codes_are_throttled_even_before_a_right_one(clerk: User) -> None:
    device = staff_device(clerk)
    client = Client()
    password_only(client, clerk)
    client.post(VERIFY, {"code": "000000" if totp_code(device) != "000000" else "111111"})
    response = client.post(VERIFY, {"code": totp_code(device)})
    assert response.status_code == 400
    assert "間違いが続いた" in response.content.decode()
    assert client.get("/console/").status_code == 302


def test_a_code_is_accepted_once_a_replay_is_refused(clerk: User) -> None:
    device = staff_device(clerk)
    code = totp_code(device)
    first = Client()
    password_only(first, clerk)
    assert first.post(VERIFY, {"code": code}).status_code == 302
    second = Client()
    password_only(second, clerk)
    assert second.post(VERIFY, {"code": code}).status_code == 400
    assert second.get("/console/").status_code == 302


def test_a_backup_code_works_once_and_is_audited(clerk: User) -> None:
    staff_device(clerk)
    codes = _backup_codes(clerk)
    client = Client()
    password_only(client, clerk)
    used = client.post(VERIFY, {"code": codes[0].upper().replace("-", " ")})
    assert used.status_code == 200 and 'id="codes-left"' in used.content.decode()
    assert "残りは 9 個" in used.content.decode()
    assert client.get("/console/").status_code == 200
    event = AuditEvent.objects.get(action="staff.backup_code_used")
    assert event.details == {"left": 9} and codes[0] not in str(event.details)
    again = Client()
    password_only(again, clerk)
    assert again.post(VERIFY, {"code": codes[0]}).status_code == 400
    assert again.get("/console/").status_code == 302


def test_replacing_backup_codes_is_audited_and_voids_the_old_ones(clerk: User) -> None:
    client = Client()
    staff_login(client, clerk)
    old = _backup_codes(clerk)
    assert client.get(CODES).status_code == 200
    assert client.get(CODES + "replace/").status_code == 405  # a GET changes nothing
    shown = client.post(CODES + "replace/")
    new = backup_codes_on(shown.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    stored = set(StaticToken.objects.values_list("token", flat=True))
    typed = {c.replace("-", "") for c in new}
    assert stored == {stored_backup_code(c) for c in typed}
    assert not stored & typed  # a copy of the database holds no usable backup code
    assert AuditEvent.objects.filter(action="staff.backup_codes_replaced").count() == 2


def _backup_codes(user: User) -> list[str]:
    from anshin.core.audit import OPERATOR
    from anshin.core.otp_services import backup_codes_replace, display_code

    return [display_code(c) for c in backup_codes_replace(user=user, actor=OPERATOR)]


@pytest.mark.parametrize(
    "code",
    ["", " ", "1" * 33, "１２３４５６", "' OR 1=1 --", "<script>", "12345", "1234567", "\x00" * 6],
)
def test_malformed_and_hostile_codes_are_refused(clerk: User, code: str) -> None:
    staff_device(clerk)
    client = Client()
    password_only(client, clerk)
    assert client.post(VERIFY, {"code": code}).status_code == 400
    assert client.get("/console/").status_code == 302


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "/\\evil"]
)
def test_next_never_leaves_the_site(clerk: User, target: str) -> None:
    device = staff_device(clerk)
    client = Client()
    password_only(client, clerk)
    response = client.post(VERIFY, {"code": totp_code(device), "next": target})
    assert response["Location"] == "/console/"


def test_codes_are_read_as_people_type_them() -> None:
    assert normalise_code(" １２３ ４５６ ") == "123456"
    assert normalise_code("ABCD-EFGH") == "abcdefgh"


# --- The middleware: every console page --------------------------------------------------


def _console_urls() -> list[str]:
    """Every URL under /console/ in the URLconf, with sample values for its parameters."""
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("console/"):
                found.append("/" + re.sub(r"<(?:(\w+):)?\w+>", _sample, route))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


def _sample(match: re.Match[str]) -> str:
    return "1" if match.group(1) == "int" else "x"


EXEMPT = {LOGIN, "/console/logout/", VERIFY, ENROL}
CONSOLE_URLS = [u for u in _console_urls() if u not in EXEMPT]


def test_the_walk_found_the_console() -> None:
    assert len(CONSOLE_URLS) > 40
    for known in ("/console/", "/console/compose/", "/console/api-keys/", CODES):
        assert known in CONSOLE_URLS
    assert any(u.startswith("/console/governance/") for u in CONSOLE_URLS)


@pytest.mark.parametrize("url", CONSOLE_URLS)
def test_an_unverified_session_reaches_no_console_page(clerk: User, url: str) -> None:
    staff_device(clerk)
    clerk.user_permissions.set(_all_permissions())
    client = Client()
    client.force_login(clerk)  # the password step only
    for response in (client.get(url), client.post(url, {"subject": "x", "send": "1"})):
        assert response.status_code == 302
        assert response["Location"].startswith(VERIFY)
    assert not AuditEvent.objects.exists()


def _all_permissions() -> list[Any]:
    from django.contrib.auth.models import Permission

    return list(Permission.objects.all())


@pytest.mark.parametrize("url", ["/admin/", "/admin/auth/user/", "/admin/otp_totp/totpdevice/"])
def test_an_unverified_session_reaches_no_admin_page(url: str) -> None:
    admin = User.objects.create_superuser("root", password=PASSWORD)
    client = Client()
    client.force_login(admin)
    assert client.get(url)["Location"] == ENROL + "?next=" + url.replace("/", "%2F")


def test_a_user_without_an_authenticator_is_sent_to_enrol(clerk: User) -> None:
    client = Client()
    client.force_login(clerk)
    assert client.get("/console/compose/")["Location"] == ENROL + "?next=%2Fconsole%2Fcompose%2F"


def test_htmx_requests_are_told_to_redirect_not_given_the_page(clerk: User) -> None:
    staff_device(clerk)
    client = Client()
    client.force_login(clerk)
    response = client.get("/console/alerts/1/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"].startswith(VERIFY)


def test_the_api_and_resident_pages_are_not_affected(clerk: User) -> None:
    client = Client()
    client.force_login(clerk)
    assert client.get("/api/v1/alerts").status_code == 401
    assert client.get("/subscribe/").status_code == 200


def test_anonymous_visitors_still_get_the_sign_in_page() -> None:
    assert Client().get("/console/compose/")["Location"] == LOGIN + "?next=/console/compose/"
    assert Client().get(VERIFY)["Location"] == LOGIN


def test_deactivation_ends_the_session_on_the_next_request(clerk: User) -> None:
    client = Client()
    staff_login(client, clerk)
    assert client.get("/console/").status_code == 200
    User.objects.filter(pk=clerk.pk).update(is_active=False)
    response = client.get("/console/")
    assert response.status_code == 302 and response["Location"] == LOGIN + "?next=/console/"


def test_the_second_step_pages_are_japanese_by_default_and_english_on_request(
    clerk: User,
) -> None:
    staff_device(clerk)
    client = Client()
    password_only(client, clerk)
    assert "<h1>確認コード</h1>" in client.get(VERIFY).content.decode()
    english = client.get(VERIFY, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Confirmation code</h1>" in english


def test_a_verified_administrator_reaches_the_admin_and_its_authenticator_list() -> None:
    admin = User.objects.create_superuser("root", password=PASSWORD)
    client = Client()
    staff_login(client, admin)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 200  # a lost phone's reset
