"""The console page for API keys: list, create with scopes (the key shown once), revoke."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from anshin.api.keys import api_key_authenticate
from anshin.api.models import ApiKey
from anshin.conftest import staff_login
from anshin.core.models import AuditEvent

pytestmark = pytest.mark.django_db

KEYS = "/console/api-keys/"
NAME = "警察メール中継"
NEW: dict[str, Any] = {"name": NAME, "categories": ["bouhan"], "can_read": "on", "can_send": "on"}


def _client(user: User) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    staff_login(client, user)
    return client


@pytest.fixture
def admin(db: Any) -> Client:
    return _client(User.objects.create_superuser("admin", password="x" * 16))


@pytest.fixture
def clerk(db: Any) -> Client:
    """Signed in to the console, but without any permission on API keys."""
    return _client(User.objects.create_user("clerk", password="x" * 16))


def test_create_shows_the_key_once_and_it_works(admin: Client, categories: Any) -> None:
    response = admin.post(f"{KEYS}new/", NEW)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    assert secret in response.content.decode()
    key = api_key_authenticate(secret)
    assert key is not None and key.name == NAME and key.can_send and key.can_read
    assert [c.slug for c in key.categories.all()] == ["bouhan"]
    event = AuditEvent.objects.get(action="api_key.create")
    admin_user = User.objects.get(username="admin")
    assert (event.actor_kind, event.actor_user_id) == ("staff", admin_user.pk)
    listing = admin.get(KEYS).content.decode()
    assert NAME in listing and f"anshin_{key.prefix}_" in listing
    assert secret not in listing


def test_revoke_from_the_console(admin: Client, categories: Any) -> None:
    secret = admin.post(f"{KEYS}new/", NEW).context["secret"]
    key = ApiKey.objects.get()
    response = admin.post(f"{KEYS}{key.pk}/revoke/")
    assert response.status_code == 302
    assert api_key_authenticate(secret) is None
    assert "revoked" in admin.get(KEYS, HTTP_ACCEPT_LANGUAGE="en").content.decode().lower()


@pytest.mark.parametrize(
    "data",
    [
        {**NEW, "name": ""},
        {**NEW, "name": "x" * 81},
        {**NEW, "name": "a\x00b"},
        {**NEW, "categories": []},
        {**NEW, "categories": ["nosuch"]},
        {**NEW, "categories": ["' OR 1=1 --"]},
        {"name": "no scope", "categories": ["bousai"]},
    ],
)
def test_invalid_create_is_refused_and_creates_nothing(
    admin: Client, categories: Any, data: dict[str, Any]
) -> None:
    response = admin.post(f"{KEYS}new/", data)
    assert response.status_code == 400
    assert "secret" not in response.context
    assert ApiKey.objects.count() == 0
    assert not AuditEvent.objects.filter(action="api_key.create").exists()


def test_staff_without_permission_can_neither_see_nor_create_nor_revoke(
    clerk: Client, admin: Client, categories: Any
) -> None:
    admin.post(f"{KEYS}new/", NEW)
    key = ApiKey.objects.get()
    before = AuditEvent.objects.count()
    assert clerk.get(KEYS).status_code == 403
    assert clerk.post(f"{KEYS}new/", NEW).status_code == 403
    assert clerk.post(f"{KEYS}{key.pk}/revoke/").status_code == 403
    assert ApiKey.objects.count() == 1
    key.refresh_from_db()
    assert key.revoked_at is None
    assert AuditEvent.objects.count() == before
    assert "api-keys" not in clerk.get("/console/").content.decode()


def test_view_permission_shows_the_list_without_create_or_revoke(
    admin: Client, categories: Any
) -> None:
    admin.post(f"{KEYS}new/", NEW)
    viewer = User.objects.create_user("viewer", password="x" * 16)
    viewer.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    page = _client(viewer).get(KEYS).content.decode()
    assert NAME in page
    assert "revoke/" not in page and f"{KEYS}new/" not in page
    assert KEYS in _client(viewer).get("/console/").content.decode()


def test_signed_out_visitor_is_sent_to_login(client: Client) -> None:
    response = client.get(KEYS, HTTP_HOST="127.0.0.1")
    assert response.status_code == 302 and "/console/login/" in response["Location"]


def test_unknown_key_and_get_on_actions_are_refused(admin: Client) -> None:
    assert admin.post(f"{KEYS}999999/revoke/").status_code == 404
    assert admin.get(f"{KEYS}new/").status_code == 405
    assert admin.post(KEYS, NEW).status_code == 405
