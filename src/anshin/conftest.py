"""Shared fixtures: a real SMTP server on loopback, eager Celery for in-process tests, and
small factories. Tests that need the real worker process start it themselves (tests/e2e)."""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import User
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from anshin.alerts.models import Category
from anshin.core import crypto
from anshin.core.addresses import normalize_address
from anshin.core.fake_sms import FakeSmsGateway
from anshin.residents.models import EMAIL_CONTEXT, PrivacyNotice, Subscriber


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sink:
    """What the SMTP server received, and how it should answer (per recipient substring)."""

    port: int = 0
    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds the server waits before accepting DATA (a slow relay)
    drop_data_for: set[str] = field(default_factory=set)  # hang up mid-DATA for these
    arrivals: list[tuple[float, Any]] = field(default_factory=list)  # (monotonic time, peer)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for _, rcpts, m in self.messages if address in rcpts]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


class _Handler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        for needle, answer in self.sink.answers.items():
            if needle in address:
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        if self.sink.drop_data_for & set(envelope.rcpt_tos):
            server.transport.close()  # the connection dies before the relay answers DATA
            return "421 4.4.2 Connection dropped"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.sink.lock:
            self.sink.arrivals.append((time.monotonic(), session.peer))
            self.sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[Sink]:
    sink = Sink(port=free_port())
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    settings.SMTP_URL = sink.url
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def sms_gateway(settings: Any) -> Iterator[FakeSmsGateway]:
    """A fake SMSEagle gateway on loopback; ``settings.SMS_URL`` already points at it."""
    gateway = FakeSmsGateway().start()
    settings.SMS_URL = gateway.url
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language. Django's LocaleMiddleware activates the
    language of each request in the thread and leaves it there, so without this a test that
    fetched an English page would change the language of whatever test runs next."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    from anshin.core.celery_app import app

    app.conf.task_always_eager = True
    yield


@pytest.fixture(autouse=True)
def _default_rows(request: pytest.FixtureRequest) -> None:
    """Transactional tests flush the tables the data migrations filled; put those rows back."""
    if "transactional_db" not in request.fixturenames and not _wants_transaction(request):
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    categories_migration = importlib.import_module(
        "anshin.alerts.migrations.0002_default_categories"
    )
    notice_migration = importlib.import_module(
        "anshin.residents.migrations.0002_first_privacy_notice"
    )
    categories_migration.create(apps, None)
    importlib.import_module("anshin.alerts.migrations.0004_category_default_expiry").set_defaults(
        apps, None
    )
    importlib.import_module("anshin.alerts.migrations.0006_category_cap_defaults").set_defaults(
        apps, None
    )
    notice_migration.create(apps, None)
    for roles_migration in (
        "0006_staff_roles",
        "0007_channel_roles",
        "0008_suppression_roles",
        "0009_alert_approval_role",
        "0010_takedown_reveal_roles",
    ):
        importlib.import_module(f"anshin.core.migrations.{roles_migration}").create(apps, None)


def _wants_transaction(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))


@pytest.fixture
def categories(db: Any) -> dict[str, Category]:
    return {c.slug: c for c in Category.objects.all()}


@pytest.fixture
def notice(db: Any) -> PrivacyNotice:
    return PrivacyNotice.objects.order_by("-version").first()  # type: ignore[return-value]


def make_subscriber(
    address: str, *cats: Category, state: str = Subscriber.State.ACTIVE
) -> Subscriber:
    normalised = normalize_address(address)
    subscriber = Subscriber.objects.create(
        email_hash=crypto.lookup_hash(normalised),
        email_ciphertext=crypto.encrypt(normalised, context=EMAIL_CONTEXT),
        state=state,
        token_key=secrets.token_hex(16),
        consent_basis="test",
    )
    subscriber.categories.set(cats)
    return subscriber


# --- Staff sign-in with the second factor (TOTP) -------------------------------------------


def totp_code(device: TOTPDevice) -> str:
    """The code an authenticator app holding this device's key shows, at a time step the
    device still accepts (each step is accepted once: replays are refused)."""
    device.refresh_from_db()
    while True:
        now_t = (int(time.time()) - device.t0) // device.step + device.drift
        if now_t > device.last_t:
            return _hotp(device.bin_key, now_t, device.digits)
        if now_t + device.tolerance > device.last_t:  # the next step: clock drift allowance
            return _hotp(device.bin_key, device.last_t + 1, device.digits)
        time.sleep(1)


def _hotp(key: bytes, t: int, digits: int = 6) -> str:
    from django_otp.oath import hotp

    return str(hotp(key, t, digits=digits)).zfill(digits)


def staff_device(user: User) -> TOTPDevice:
    """The user's confirmed authenticator, created as enrolment would leave it."""
    from anshin.core.otp import confirmed_totp

    found = confirmed_totp(user)
    return found or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def staff_login(
    client: Client, user: User, *, password: str | None = None, roles: tuple[str, ...] = ()
) -> TOTPDevice:
    """Sign a staff member in as a person does: the password (the real sign-in page when
    `password` is given, else force_login), then the current TOTP code typed into the verify
    page. `roles` (author, approver, administrator, auditor) are granted first."""
    from django.contrib.auth.models import Group

    from anshin.core.roles import role_named

    for role in roles:  # test setup, not a staff action: no audit entry to upset counts
        user.groups.add(Group.objects.get(name=role_named(role).group))
    device = staff_device(user)
    if password is None:
        client.force_login(user)
    else:
        client.get("/console/login/")
        signed = client.post(
            "/console/login/", _csrf(client, username=user.username, password=password)
        )
        assert signed.status_code == 302, "the password was refused"
    assert client.get("/console/").status_code == 302  # sent to the second step
    client.get("/console/otp/verify/")
    verified = client.post("/console/otp/verify/", _csrf(client, code=totp_code(device)))
    assert verified.status_code == 302, "the TOTP code was refused"
    return device


def _csrf(client: Client, **data: str) -> dict[str, str]:
    """Form data with the CSRF token, for clients that enforce it."""
    cookie = client.cookies.get("csrftoken")
    return {**data, "csrfmiddlewaretoken": cookie.value} if cookie else data


_BROWSER_STEPS: dict[str, int] = {}  # key -> last time step typed (a step is accepted once)


def browser_sign_in(
    page: Any,
    base_url: str,
    username: str,
    password: str,
    check: Callable[[Any, str], None] | None = None,
) -> str:
    """Sign in through the real pages in Playwright: the password, then the second step. A
    first sign-in enrols (reads the key off the page as a person types it into an app, keeps
    the backup codes page); later ones type the current code. Returns the key (base32)."""
    page.goto(base_url + "/console/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/console/otp/" in url)
    key = _BROWSER_KEYS.get((base_url, username))
    if "/enrol/" in page.url:
        key = page.locator("#otp-secret").inner_text().replace(" ", "")
        _BROWSER_KEYS[(base_url, username)] = key
    assert key, "no authenticator key known for this user"
    if check is not None:  # e.g. the accessibility check, on the second-step page
        check(page, "second step " + page.url.split("/console/otp/")[1].split("/")[0])
    page.locator("#id_code").fill(browser_totp_code(key))
    page.locator("main form button[type=submit]").first.click()
    if page.locator("#backup-codes").count():
        page.locator("#continue").click()
    page.wait_for_url(lambda url: "/console/otp/" not in url)
    return key


_BROWSER_KEYS: dict[tuple[str, str], str] = {}


def browser_totp_code(key: str) -> str:
    """The current code for a base32 key, waiting for the next 30 s step if this step's code
    was already typed (the server refuses a replay)."""
    from base64 import b32decode

    while (now_t := int(time.time()) // 30) <= _BROWSER_STEPS.get(key, -1):
        time.sleep(1)
    _BROWSER_STEPS[key] = now_t
    return _hotp(b32decode(key), now_t)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the operator stack (PostgreSQL + Redis/RabbitMQ), run only what touches the database
    or the broker; the rest already ran on the embedded stack. Deselected, not skipped."""
    if not os.environ.get("ANSHIN_DATABASE_URL", "").startswith("postgres"):
        _deselect(config, items, lambda item: bool(item.get_closest_marker("postgres_only")))
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        touches = (
            "db" in fixtures
            or "transactional_db" in fixtures
            or item.get_closest_marker("django_db")
        )
        once = item.get_closest_marker("browser") or item.get_closest_marker("embedded_only")
        (keep if (touches or item.get_closest_marker("e2e")) and not once else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _deselect(config: pytest.Config, items: list[pytest.Item], unwanted: Any) -> None:
    drop = [item for item in items if unwanted(item)]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if not unwanted(item)]
