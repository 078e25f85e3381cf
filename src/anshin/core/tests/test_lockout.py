"""django-axes: wrong passwords lock out one username from one address, never the username
everywhere (an attacker cannot lock a clerk out); the client address is read as elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/console/login/"
PASSWORD = "clerk-passphrase-12345"


@pytest.fixture
def clerk() -> User:
    return User.objects.create_user("clerk", password=PASSWORD)


def attempt(password: str, *, ip: str = "198.51.100.7", forwarded: str = "", user: str = "clerk"):
    extra: dict[str, Any] = {"REMOTE_ADDR": ip}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    client = Client()
    return client, client.post(LOGIN, {"username": user, "password": password}, **extra)


def fail(times: int, **where: str) -> Any:
    response = None
    for _ in range(times):
        _client, response = attempt("wrong-password", **where)
    return response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_limit_locks_that_username_from_that_address_with_a_plain_japanese_page(
    clerk: User, settings: Any
) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    assert fail(4).status_code == 200  # the form again, with its error
    locked = fail(1)
    page = locked.content.decode()
    assert locked.status_code == 429 and "サインインを 15 分間停止しています" in page
    assert "clerk" not in page.split("<main")[1]  # the page does not echo the username
    client, right = attempt(PASSWORD)
    assert right.status_code == 429 and not signed_in(client)


def test_the_same_username_still_signs_in_from_another_address(clerk: User) -> None:
    fail(5)
    client, response = attempt(PASSWORD, ip="203.0.113.20")
    assert response.status_code == 302 and signed_in(client)


def test_another_username_from_the_locked_address_is_not_affected(clerk: User) -> None:
    User.objects.create_user("other", password=PASSWORD)
    fail(5)
    client, response = attempt(PASSWORD, user="other")
    assert response.status_code == 302 and signed_in(client)


def test_a_forged_forwarded_header_from_an_untrusted_peer_does_not_escape_the_lockout(
    clerk: User,
) -> None:
    for n in range(5):
        attempt("wrong-password", forwarded=f"192.0.2.{n}")
    client, response = attempt(PASSWORD, forwarded="192.0.2.99")
    assert response.status_code == 429 and not signed_in(client)


def test_behind_a_trusted_proxy_the_forwarded_client_is_locked_not_the_proxy(
    clerk: User, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.9"]
    fail(5, ip="10.0.0.9", forwarded="203.0.113.5")
    assert AccessAttempt.objects.get().ip_address == "203.0.113.5"
    locked_client, locked = attempt(PASSWORD, ip="10.0.0.9", forwarded="203.0.113.5")
    client, other = attempt(PASSWORD, ip="10.0.0.9", forwarded="203.0.113.6")
    assert locked.status_code == 429 and not signed_in(locked_client)
    assert other.status_code == 302 and signed_in(client)


def test_the_lock_lifts_after_the_cool_off(clerk: User) -> None:
    fail(5)
    earlier = timezone.now() - timedelta(minutes=16)
    AccessAttempt.objects.update(attempt_time=earlier)
    client, response = attempt(PASSWORD)
    assert response.status_code == 302 and signed_in(client)


def test_a_success_before_the_limit_resets_the_count(clerk: User) -> None:
    fail(4)
    attempt(PASSWORD)
    assert fail(4).status_code == 200


@pytest.mark.parametrize(
    "username", ["", "x" * 5000, "' OR 1=1 --", "<script>alert(1)</script>", "ｃｌｅｒｋ"]
)
def test_hostile_usernames_are_refused_without_error(clerk: User, username: str) -> None:
    client, response = attempt("wrong-password", user=username)
    assert response.status_code == 200 and not signed_in(client)
    assert all(len(a.username or "") <= 150 for a in AccessAttempt.objects.all())


def test_a_long_username_is_still_locked_out_by_its_first_characters(clerk: User) -> None:
    fail(5, user="x" * 5000)
    _client, response = attempt(PASSWORD, user="x" * 150 + "different tail")
    assert response.status_code == 429


def test_limit_and_cool_off_come_from_the_environment(tmp_path: Any) -> None:
    env = {
        **os.environ,
        "ANSHIN_HOME": str(tmp_path),
        "ANSHIN_LOGIN_FAILURE_LIMIT": "3",
        "ANSHIN_LOGIN_COOLOFF_MINUTES": "40",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    code = (
        "from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()), "
        "s.AXES_LOCKOUT_PARAMETERS)"
    )
    out = subprocess.run(
        [sys.executable, "-m", "anshin.core.cli", "shell", "--no-imports", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().splitlines()[-1] == "3 2400 [['username', 'ip_address']]"
