"""Police mail intake and the registration codes as staff click them, in the system Chromium
through Playwright, against real anshin processes: `anshin inbound` listening for SMTP, the
web process and a worker. A police notice forwarded to the intake address becomes a draft
(listed with its sender masked, shown in full with its source), "use as alert" fills the
compose form, and nothing is sent by itself. The QR codes page and its A4 flyer (PDF) work.
Every page passes axe-core.

No pytest-django database fixture: the stack has its own database, used by its own processes.
"""

from __future__ import annotations

import base64
import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import expect

from anshin.conftest import free_port
from anshin.e2e.stack import Stack, running_stack
from anshin.e2e.staff import add_superuser, staff_page
from anshin.e2e.test_browser import assert_accessible

pytestmark = pytest.mark.browser

STAFF = "intake-clerk"
PASSWORD = "intake-browser-passphrase-5"
DOMAIN = "anshin.example.jp"
INTAKE = f"intake@{DOMAIN}"
FORWARDER = "officer@keishicho.example.jp"
SOURCE = "info@mail.keishicho.example.jp"
SUBJECT = "【不審者情報】声かけ事案の発生"
BODY = "3月1日午後4時ごろ、公園付近で児童への声かけがありました。"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    env = {
        "ANSHIN_INBOUND_DOMAIN": DOMAIN,
        "ANSHIN_INBOUND_INTAKE_SENDERS": "@keishicho.example.jp",
    }
    with running_stack(tmp_path, roles=("web", "worker"), extra_env=env) as stack:
        add_superuser(stack, STAFF, PASSWORD)
        yield stack


@contextmanager
def inbound_listener(stack: Stack) -> Iterator[int]:
    """`anshin inbound` as operators run it, on a free port, until SIGTERM."""
    port = free_port()
    log = open(stack.home / "inbound.log", "ab")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "anshin.core.cli", "inbound", "--port", str(port)],
        env=stack.env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        _wait_for_smtp(port, process)
        yield port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        log.close()


def _wait_for_smtp(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                client.noop()
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def police_forward() -> bytes:
    """A police notice as 警視庁メール sends it (ISO-2022-JP), forwarded as an attachment."""
    original = (
        b"From: =?ISO-2022-JP?B?"
        + base64.b64encode("警視庁".encode("iso2022_jp"))
        + f"?= <{SOURCE}>\r\n".encode()
        + b"Subject: =?ISO-2022-JP?B?"
        + base64.b64encode(SUBJECT.encode("iso2022_jp"))
        + b"?=\r\n"
        b"Date: Mon, 02 Mar 2026 09:15:00 +0900\r\n"
        b"Message-ID: <police-e2e@mail.keishicho.example.jp>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n"
        b"\r\n" + BODY.encode("iso2022_jp") + b"\r\n"
    )
    forward = EmailMessage()
    forward["From"] = FORWARDER
    forward["To"] = INTAKE
    forward["Subject"] = "Fwd: " + SUBJECT
    forward["Message-ID"] = "<fwd-e2e@keishicho.example.jp>"
    forward.set_content("転送します。")
    forward.add_attachment(message_from_bytes(original, policy=policy.SMTP))
    return forward.as_bytes(policy=policy.SMTP)


def test_police_notice_becomes_a_draft_staff_compose_from_and_nothing_is_sent(
    stack: Stack,
) -> None:
    with inbound_listener(stack) as port, smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        assert smtp.sendmail(FORWARDER, [INTAKE], police_forward()) == {}

    with staff_page(stack, STAFF, PASSWORD) as page:
        # The menu leads to received mail: the notice waits there, its senders masked.
        page.locator("header nav a[href='/console/inbound/']").click()
        rows = page.locator("main tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(SUBJECT)
        expect(rows.first.locator("td").nth(2)).to_have_text("i***@e***.jp")
        expect(rows.first.locator("td").nth(3)).to_have_text("o***@e***.jp")
        listed = page.locator("main").inner_text()
        assert SOURCE not in listed and FORWARDER not in listed
        assert_accessible(page, "intake drafts")

        # The draft shows the notice and where it came from.
        rows.first.locator("a").click()
        expect(page.locator("h1")).to_have_text(SUBJECT)
        expect(page.locator("pre.mail")).to_have_text(BODY)
        source = page.locator("main dl")
        expect(source).to_contain_text(SOURCE)
        expect(source).to_contain_text("<police-e2e@mail.keishicho.example.jp>")
        expect(source).to_contain_text(FORWARDER)
        expect(source).to_contain_text("2026-03-02 09:15")
        assert_accessible(page, "intake draft")

        # "Use as alert" fills the compose form; sending is still the clerk's to do.
        page.locator("main form[action$='/use/'] button").click()
        expect(page.locator("#id_subject")).to_have_value(SUBJECT)
        expect(page.locator("#id_body")).to_have_value(BODY)
        expect(page.locator("#id_category")).to_have_value("bouhan")
        expect(page.locator("main form")).to_have_attribute("action", "/console/compose/")
        assert_accessible(page, "compose from draft")

        # Nothing went out: no alert in the archive, no mail at the relay.
        page.goto(stack.base_url + "/alerts/")
        expect(page.locator("#alert-list > li")).to_have_count(0)
        time.sleep(2)  # a worker that wrongly sent something has had time to
        assert stack.sink.messages == []

        # The registration codes and the flyer for posters and the newsletter.
        page.goto(stack.base_url + "/console/inbound/")
        page.locator("main a[href='/console/inbound/registration/']").click()
        expect(page.locator(".qr-codes svg")).to_have_count(2)
        expect(page.locator(".qr-codes")).to_contain_text(f"touroku@{DOMAIN}")
        expect(page.locator(".qr-codes")).to_contain_text(stack.base_url + "/subscribe/")
        assert_accessible(page, "registration codes")
        href = page.locator("main a.button").get_attribute("href")
        assert href == "/console/inbound/registration/flyer.pdf"
        flyer = page.request.get(stack.base_url + href)
        assert flyer.ok and flyer.headers["content-type"] == "application/pdf"
        assert flyer.body().startswith(b"%PDF-")
