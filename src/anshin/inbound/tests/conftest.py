"""The inbound listener on a free loopback port, configured for a test domain."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest

from anshin.conftest import free_port
from anshin.inbound.handler import make_controller

DOMAIN = "anshin.example.jp"
REGISTER = f"touroku@{DOMAIN}"
INTAKE = f"intake@{DOMAIN}"
POLICE = "keishicho@mail.keishicho.example.jp"


@dataclass
class Inbound:
    port: int

    def send(self, sender: str, recipients: list[str], data: bytes | str) -> dict[str, Any]:
        """One SMTP conversation; the refused recipients (smtplib raises if all are)."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            return client.sendmail(sender, recipients, data)


@pytest.fixture
def inbound_settings(settings: Any) -> Any:
    settings.INBOUND_DOMAIN = DOMAIN
    settings.BOUNCE_DOMAIN = DOMAIN
    settings.INBOUND_INTAKE_SENDERS = ["@keishicho.example.jp", "shidou@city.example.jp"]
    settings.MAIL_FROM = "anshin@city.example.jp"
    return settings


@pytest.fixture
def inbound(inbound_settings: Any) -> Iterator[Inbound]:
    port = free_port()
    controller = make_controller(host="127.0.0.1", port=port)
    controller.start()
    try:
        yield Inbound(port=port)
    finally:
        controller.stop()


def mail(*, sender: str, to: str, subject: str = "", body: str = "", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{abs(hash((sender, to, subject, body)))}@test.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)
