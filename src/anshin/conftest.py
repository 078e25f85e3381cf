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
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

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
