"""Staff console: the residents' register — addresses masked everywhere, a look-up by exact
address that keeps the address out of URLs, and a full address only for a stated reason, shown
once and recorded (P2). A forbidden or refused request records nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied
from django.test import Client

from anshin.alerts.models import Category
from anshin.conftest import make_subscriber, staff_login
from anshin.core.audit import Actor, audit_verify
from anshin.core.models import AuditEvent
from anshin.delivery.models import Bounce, Notification, SendState, Suppression
from anshin.governance import access
from anshin.governance.models import AddressReveal
from anshin.residents.models import PrivacyNotice, Subscriber

pytestmark = pytest.mark.django_db

ADDRESS = "taro..jiro@docomo.ne.jp"
MASKED = "t***@d***.ne.jp"
REVEAL_ACTIONS = ("subscriber.address_revealed", "subscriber.looked_up")


def _user(username: str, *perms: str) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    for label in perms:
        app, codename = label.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return User.objects.get(pk=user.pk)


def _client(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff_login(client, user)
    return client


@pytest.fixture
def admin(db: Any) -> Client:
    """管理者: the list and the reveal."""
    return _client(_user("admin", access.VIEW, access.REVEAL, access.REGISTER))


@pytest.fixture
def auditor(db: Any) -> Client:
    """監査者: the masked list and the register of reveals, no reveal."""
    return _client(_user("auditor", access.VIEW, access.REGISTER))


@pytest.fixture
def outsider(db: Any) -> Client:
    return _client(_user("other"))


@pytest.fixture
def resident(categories: dict[str, Category], notice: PrivacyNotice) -> Subscriber:
    subscriber = make_subscriber(ADDRESS, categories["bouhan"])
    Subscriber.objects.filter(pk=subscriber.pk).update(notice=notice, consent_basis="web form")
    subscriber.refresh_from_db()
    return subscriber


def recorded() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__in=REVEAL_ACTIONS).order_by("seq"))


def reveal(client: Client, subscriber: Subscriber, **data: str) -> Any:
    form = {"reason": "inquiry", "note": "本人から電話で配信停止の相談", **data}
    return client.post(f"/console/subscribers/{subscriber.pk}/reveal/", form)


def assert_no_address(response: Any) -> None:
    body = response.content
    assert ADDRESS.encode() not in body and b"taro..jiro" not in body


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_addresses_masked_and_counts_per_state(
    admin: Client, resident: Subscriber
) -> None:
    make_subscriber("hanako@example.jp", state=Subscriber.State.PENDING)
    erased = make_subscriber("gone@example.jp", state=Subscriber.State.UNSUBSCRIBED)
    Subscriber.objects.filter(pk=erased.pk).update(email_ciphertext=b"")
    response = admin.get("/console/subscribers/")
    assert response.status_code == 200
    page = response.content.decode()
    assert_no_address(response)
    assert b"hanako@" not in response.content and b"gone@" not in response.content
    assert MASKED in page and "h***@e***.jp" in page and "(erased)" in page
    counts = response.context["counts"]
    assert [(str(label), n) for label, n, _v in counts] == [
        ("Waiting for confirmation", 1),
        ("Subscribed", 1),
        ("Unsubscribed", 0),
        ("Paused (receipt not confirmed)", 0),
    ]
    assert response.context["erased_count"] == 1
    assert not recorded()  # looking at the masked list is not a look at anyone's data


def test_the_list_filters_by_state_and_by_number(admin: Client, resident: Subscriber) -> None:
    other = make_subscriber("hanako@example.jp", state=Subscriber.State.PENDING)
    by_state = admin.get("/console/subscribers/", {"state": "pending"})
    assert [r.pk for r in by_state.context["rows"]] == [other.pk]
    by_number = admin.get("/console/subscribers/", {"number": f"#{resident.pk}"})
    assert [r.pk for r in by_number.context["rows"]] == [resident.pk]


@pytest.mark.parametrize(
    "query",
    [
        {"number": "1' OR 1=1"},
        {"number": "9" * 40},
        {"number": "１２"},  # full-width digits: not an id
        {"state": "deleted"},
        {"state": "x" * 5000},
    ],
)
def test_a_bad_filter_is_a_clear_error(admin: Client, resident: Subscriber, query: Any) -> None:
    response = admin.get("/console/subscribers/", query)
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()


def test_the_pages_are_closed_to_staff_without_the_permission(
    outsider: Client, resident: Subscriber
) -> None:
    for url in (
        "/console/subscribers/",
        f"/console/subscribers/{resident.pk}/",
        "/console/subscribers/reveals/",
    ):
        assert outsider.get(url).status_code == 403
    assert outsider.post("/console/subscribers/find/", {"address": ADDRESS}).status_code == 403
    assert reveal(outsider, resident).status_code == 403
    assert not recorded() and not AddressReveal.objects.exists()


# --- the look-up by address -------------------------------------------------------------------


def test_a_look_up_by_exact_address_goes_to_the_page_by_id_and_is_recorded(
    admin: Client, resident: Subscriber
) -> None:
    response = admin.post("/console/subscribers/find/", {"address": "ＴＡＲＯ..jiro@DOCOMO.ne.jp"})
    assert response.status_code == 404  # the local part's case counts: another mailbox
    response = admin.post("/console/subscribers/find/", {"address": f"  {ADDRESS} "})
    assert response.status_code == 302
    assert response["Location"] == f"/console/subscribers/{resident.pk}/"
    events = recorded()
    assert [(e.action, e.target_id, e.details) for e in events] == [
        ("subscriber.looked_up", "", {"found": False}),
        ("subscriber.looked_up", str(resident.pk), {"found": True}),
    ]
    assert all("jiro" not in json.dumps(e.details) for e in events)


def test_an_address_not_registered_says_so(admin: Client, resident: Subscriber) -> None:
    response = admin.post("/console/subscribers/find/", {"address": "nobody@example.jp"})
    assert response.status_code == 404
    assert "No registration was found for this address." in response.content.decode()
    assert b"nobody@example.jp" not in response.content


@pytest.mark.parametrize(
    "address", ["not an address", "a@b", "x" * 400 + "@example.jp", "a\r\nb@x.jp"]
)
def test_a_look_up_of_something_not_an_address_is_refused_unrecorded(
    admin: Client, address: str
) -> None:
    response = admin.post("/console/subscribers/find/", {"address": address})
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert not recorded()


def test_the_look_up_takes_no_address_in_the_url(admin: Client, resident: Subscriber) -> None:
    response = admin.get("/console/subscribers/find/", {"address": ADDRESS})
    assert response.status_code == 405 and not recorded()


# --- one resident ---------------------------------------------------------------------------


def test_the_page_of_a_resident_shows_the_record_masked(
    admin: Client, resident: Subscriber, notice: PrivacyNotice
) -> None:
    Notification.objects.create(subscriber=resident, kind="confirm", state=SendState.ACCEPTED)
    Bounce.objects.create(
        address_hash=resident.email_hash,
        kind=Bounce.Kind.HARD,
        status="5.1.1",
        received_at=resident.created_at,
    )
    Suppression.objects.create(
        address_hash=resident.email_hash, reason="hard_bounce", detail="5.1.1"
    )
    response = admin.get(f"/console/subscribers/{resident.pk}/")
    assert response.status_code == 200
    assert_no_address(response)
    page = response.content.decode()
    assert MASKED in page and "Subscribed" in page and "web form" in page
    assert f"v{notice.version}" in page
    assert "Confirm your address" in page and "Hard bounce" in page
    assert "On the suppression list" in page and "5.1.1" in page
    assert 'id="reveal-form"' in page
    assert not recorded()


def test_an_unknown_or_malformed_id_is_not_found(admin: Client) -> None:
    assert admin.get("/console/subscribers/999999/").status_code == 404
    assert admin.get("/console/subscribers/abc/").status_code == 404
    assert admin.get("/console/subscribers/" + "9" * 30 + "/").status_code == 404
    assert (
        admin.post(
            "/console/subscribers/999999/reveal/",
            {"reason": "inquiry", "note": "問い合わせ対応のため"},
        ).status_code
        == 404
    )
    assert not recorded() and not AddressReveal.objects.exists()


# --- the reveal -------------------------------------------------------------------------------


def test_a_reveal_with_a_reason_shows_the_address_once_and_records_it(
    admin: Client, resident: Subscriber
) -> None:
    response = reveal(admin, resident, reason="undeliverable", note="配信不能の問い合わせ（電話）")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<code>{ADDRESS}</code>" in page
    assert "no-store" in response["Cache-Control"]
    assert ADDRESS not in response.get("Location", "") and ADDRESS not in str(admin.session.items())
    record = AddressReveal.objects.get()
    assert (record.subscriber_ref, record.reason, record.note) == (
        resident.pk,
        "undeliverable",
        "配信不能の問い合わせ（電話）",
    )
    [event] = recorded()
    assert (event.action, event.target_type, event.target_id) == (
        "subscriber.address_revealed",
        "residents.subscriber",
        str(resident.pk),
    )
    assert event.details == {"reason": "undeliverable", "reveal": record.pk}
    assert event.actor_user is not None and event.actor_user.username == "admin"
    stored = json.dumps(event.details, ensure_ascii=False)
    assert "jiro" not in stored and "docomo" not in stored
    assert audit_verify().ok
    # The next look at the page is masked again.
    again = admin.get(f"/console/subscribers/{resident.pk}/")
    assert_no_address(again)
    assert MASKED in again.content.decode()


def test_a_get_of_the_reveal_url_reveals_nothing(admin: Client, resident: Subscriber) -> None:
    response = admin.get(
        f"/console/subscribers/{resident.pk}/reveal/",
        {"reason": "inquiry", "note": "問い合わせ対応"},
    )
    assert response.status_code == 405
    assert_no_address(response)
    assert not recorded() and not AddressReveal.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": ""}, "This field is required."),
        ({"note": ""}, "This field is required."),
        ({"note": "   "}, "Write at least 5 characters"),
        ({"note": "電話"}, "Write at least 5 characters"),
        ({"reason": "curiosity"}, "Select a valid choice."),
        ({"note": "あ" * 501}, "Ensure this value has at most 500 characters"),
        ({"note": "問い合わせ対応\x00のため"}, "Null characters are not allowed."),
        ({"note": "問い合わせ対応\nのため"}, "control characters"),
        ({"note": "問い合わせ対応\u202eのため"}, "control characters"),
        ({"note": "hanako@example.jp から電話"}, "Do not write an e-mail address"),
        ({"note": "hanako＠example.jp から電話"}, "Do not write an e-mail address"),
        ({"note": "本人から電話 TARO..JIRO の件"}, "Do not write an e-mail address"),
    ],
)
def test_a_reveal_without_a_proper_reason_is_refused_and_not_recorded(
    admin: Client, resident: Subscriber, data: dict[str, str], message: str
) -> None:
    response = reveal(admin, resident, **data)
    assert response.status_code == 400
    assert_no_address(response)
    assert message in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert not recorded() and not AddressReveal.objects.exists()


def test_staff_without_the_reveal_permission_get_403_and_nothing_is_recorded(
    auditor: Client, resident: Subscriber
) -> None:
    page = auditor.get(f"/console/subscribers/{resident.pk}/")
    assert page.status_code == 200 and 'id="reveal-form"' not in page.content.decode()
    response = reveal(auditor, resident)
    assert response.status_code == 403
    assert_no_address(response)
    assert not recorded() and not AddressReveal.objects.exists()


def test_an_erased_address_cannot_be_revealed(admin: Client, resident: Subscriber) -> None:
    Subscriber.objects.filter(pk=resident.pk).update(email_ciphertext=b"")
    response = reveal(admin, resident)
    assert response.status_code == 400
    assert "erased after its retention period" in response.content.decode()
    assert not recorded() and not AddressReveal.objects.exists()


def test_the_service_checks_the_permission_itself(resident: Subscriber) -> None:
    viewer = _user("viewer", access.VIEW)
    with pytest.raises(PermissionDenied):
        access.address_reveal(
            actor=Actor.staff(viewer), subscriber=resident, reason="inquiry", note="問い合わせ対応"
        )
    with pytest.raises(access.RevealRefused):
        access.address_reveal(
            actor=Actor.staff(_user("chief", access.REVEAL)),
            subscriber=resident,
            reason="inquiry",
            note=f"{ADDRESS}",
        )
    assert not recorded() and not AddressReveal.objects.exists()


# --- the register of reveals ------------------------------------------------------------------


def test_the_auditor_reads_the_register_of_reveals(
    admin: Client, auditor: Client, resident: Subscriber
) -> None:
    assert (
        reveal(admin, resident, reason="disclosure", note="開示請求 第12号への対応").status_code
        == 200
    )
    response = auditor.get("/console/subscribers/reveals/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "開示請求 第12号への対応" in page and "Responding to a disclosure request" in page
    assert f"#{resident.pk}" in page and "admin" in page
    assert_no_address(response)
