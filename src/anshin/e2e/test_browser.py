"""The core flow as people click it, in the system Chromium through Playwright, against real
anshin processes (web, worker, scheduler) and a real SMTP server on loopback.

A resident registers on a 320 px phone screen, confirms from the mail, receives an alert,
and leaves; a staff member signs in, composes, previews, sends and watches the progress.
axe-core (from npm) runs on every resident page and the staff sign-in page: no violation of
serious or critical impact is allowed. Screenshots go to test-artifacts/ (for CI) and the
ones the README shows to docs/screenshots/, so they stay current.

These tests use no pytest-django database fixture: the stack has its own database, used by
its own processes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import suppress
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from anshin.conftest import browser_sign_in
from anshin.e2e.stack import Stack, running_stack

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = ROOT / "test-artifacts"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 320, "height": 640}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
ACTION_MS = 15_000  # one click, one page load
DELIVERY_MS = 60_000  # an alert reaching the relay, through worker and scheduler

STAFF_USER = "clerk"
STAFF_PASSWORD = "browser-test-passphrase-7"
SERIOUS = ("serious", "critical")

NewPage = Callable[[ViewportSize, str], Page]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    for stale in ARTIFACTS.glob("FAILED-*.png"):  # from an earlier run
        stale.unlink()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("browser")) as running:
        running.anshin(
            "shell",
            "--no-imports",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_user({STAFF_USER!r}, password={STAFF_PASSWORD!r}, "
            "is_staff=True)",
        )
        running.anshin("roles", "grant", STAFF_USER, "author")
        yield running


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[NewPage]:
    """Opens a page in a fresh browser profile (its own cookies), Japanese like most residents'
    phones. If the test fails, each page's last state is saved to test-artifacts/."""
    contexts: list[tuple[str, BrowserContext]] = []
    failed_before = request.session.testsfailed

    def make(viewport: ViewportSize, who: str) -> Page:
        context = browser.new_context(
            viewport=viewport,
            locale="ja-JP",
            timezone_id="Asia/Tokyo",
        )
        context.set_default_timeout(ACTION_MS)
        contexts.append((who, context))
        return context.new_page()

    yield make
    failed = request.session.testsfailed > failed_before
    for who, context in contexts:
        if failed:
            for number, page in enumerate(context.pages):
                with suppress(Exception):
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(
                        path=ARTIFACTS / f"FAILED-{request.node.name}-{who}-{number}.png",
                        full_page=True,
                    )
        context.close()


# --- helpers ----------------------------------------------------------------------------------


def screenshot(page: Page, name: str, *, docs: bool = False) -> None:
    """A full-page PNG into test-artifacts/ and, for the README's pictures, docs/screenshots/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring
    png = page.screenshot(path=ARTIFACTS / name, full_page=True, animations="disabled")
    if docs:
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        (DOCS_SHOTS / name).write_bytes(png)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    assert AXE.exists(), f"{AXE} is missing: run `npm install --no-audit --no-fund`"
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => n.target.join(' ')),
            }));
        }"""
    )


def assert_accessible(page: Page, what: str) -> None:
    violations = axe_violations(page)
    slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-{slug}.json").write_text(
        json.dumps({"url": page.url, "violations": violations}, ensure_ascii=False, indent=2)
    )
    serious = [v for v in violations if v["impact"] in SERIOUS]
    assert not serious, f"axe-core on {what} ({page.url}):\n" + "\n".join(
        f"- {v['id']} [{v['impact']}] {v['help']} ({v['helpUrl']}): " + ", ".join(v["nodes"])
        for v in serious
    )


def assert_fits_phone(page: Page, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{what} scrolls sideways on a 320 px screen: {width} px"


def check_resident_page(page: Page, what: str) -> None:
    """What every resident page must pass: usable at 320 px, and no serious axe violation."""
    assert_fits_phone(page, what)
    assert_accessible(page, what)


def text_of(mail: EmailMessage) -> str:
    """The decoded text part, with the mail's CRLF line ends as \\n."""
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    return str(text).replace("\r\n", "\n")


def link_in(mail: EmailMessage, stack: Stack, prefix: str) -> str:
    """The one link in the mail's text whose path starts with prefix."""
    paths = re.findall(re.escape(stack.base_url) + r"(/\S+/)", text_of(mail))
    (path,) = (p for p in paths if p.startswith(prefix))
    return stack.base_url + path


def finished_label(stack: Stack) -> str:
    """The console's word for a finished delivery, in Japanese (whatever the catalogue says)."""
    script = (
        "from django.utils import translation; "
        "from anshin.delivery.models import Delivery; "
        "translation.activate('ja'); print(Delivery.State.DONE.label)"
    )
    return stack.anshin("shell", "--no-imports", "-c", script).stdout.strip().splitlines()[-1]


def submit(page: Page) -> None:
    page.locator("main form button[type=submit]").first.click()


def compose(staff: Page, stack: Stack, subject: str, body: str) -> None:
    """New alert (in the console's menu) → 防災 → subject and message."""
    staff.locator("header nav a[href='/console/compose/']").click()
    expect(staff).to_have_url(stack.base_url + "/console/compose/")
    staff.locator("#id_category").select_option(label="防災")
    staff.locator("#id_subject").fill(subject)
    staff.locator("#id_body").fill(body)


def preview_and_send(staff: Page, stack: Stack, subject: str, body: str) -> None:
    """Preview → check it → send. Ends on the alert's page, with its live progress."""
    staff.locator("main button[name=preview]").first.click()
    expect(staff.locator("#preview-subject")).to_have_text(f"[安心市 防災] {subject}")
    expect(staff.locator("#preview-body")).to_contain_text(body)
    staff.locator("main button[name=send]").click()
    expect(staff).to_have_url(re.compile(re.escape(stack.base_url) + r"/console/alerts/\d+/$"))


# --- tests ------------------------------------------------------------------------------------


def test_resident_registers_staff_sends_resident_leaves(stack: Stack, new_page: NewPage) -> None:
    address = "taro..jiro@docomo.ne.jp"  # a legacy carrier address that breaks RFC 5322
    subscribe_url = stack.base_url + "/subscribe/"

    # The registration page, as a newcomer on a desktop sees it.
    visitor = new_page(DESKTOP, "visitor")
    visitor.goto(subscribe_url)
    expect(visitor.locator("html")).to_have_attribute("lang", "ja")
    assert_accessible(visitor, "subscribe (desktop)")
    screenshot(visitor, "subscribe-desktop.png", docs=True)

    # A resident on a small phone mistypes the address first.
    resident = new_page(PHONE, "resident")
    resident.goto(subscribe_url)
    check_resident_page(resident, "subscribe")
    resident.locator("#id_email").fill("taro.docomo.ne.jp")
    resident.get_by_label("防災", exact=True).check()
    submit(resident)
    expect(resident.locator("#email-errors")).to_be_visible()
    expect(resident.locator("#id_email")).to_have_attribute(
        "aria-describedby", re.compile("email-errors")
    )
    check_resident_page(resident, "subscribe with form errors")

    # ... then registers for 防災 only.
    resident.goto(subscribe_url)
    resident.locator("#id_email").fill(address)
    resident.get_by_label("防災", exact=True).check()
    expect(resident.get_by_label("防犯", exact=True)).not_to_be_checked()
    screenshot(resident, "subscribe-phone.png", docs=True)
    submit(resident)
    expect(resident).to_have_url(stack.base_url + "/subscribe/sent/")
    check_resident_page(resident, "sent")
    screenshot(resident, "sent-phone.png")

    # The confirmation mail's link opens a page; the button on it registers.
    (confirm_mail,) = stack.wait_for_mail(address, 1)
    resident.goto(link_in(confirm_mail, stack, "/subscribe/confirm/"))
    check_resident_page(resident, "confirm")
    screenshot(resident, "confirm-phone.png")
    resident.locator("main button.primary").click()
    expect(resident.locator("main h1.ok")).to_be_visible()
    expect(resident.locator("main ul")).to_have_text("防災")
    check_resident_page(resident, "confirmed")
    screenshot(resident, "confirmed-phone.png")
    complete = stack.wait_for_mail(address, 2)[1]
    assert "登録完了" in complete["Subject"]
    assert "・防災" in text_of(complete) and "・防犯" not in text_of(complete)

    # Staff sign in on a desktop, compose a 防災 alert, preview it, send it.
    staff = new_page(DESKTOP, "staff")
    staff.goto(stack.base_url + "/console/")
    expect(staff).to_have_url(re.compile(r"/console/login/"))
    assert_accessible(staff, "console login")
    browser_sign_in(staff, stack.base_url, STAFF_USER, STAFF_PASSWORD, check=assert_accessible)
    expect(staff).to_have_url(stack.base_url + "/console/")

    subject, body = (
        "避難指示（訓練）",
        "北部地区に避難指示が出ました。\n最寄りの避難所へ移動してください。",
    )
    compose(staff, stack, subject, body)
    screenshot(staff, "console-compose.png", docs=True)
    preview_and_send(staff, stack, subject, body)
    expect(staff.locator("#count-accepted")).to_have_text("1", timeout=DELIVERY_MS)
    done = finished_label(stack)
    expect(staff.locator("#live-status")).to_have_text(done, timeout=DELIVERY_MS)
    expect(staff.locator("#count-total")).to_have_text("1")
    expect(staff.locator("#count-failed")).to_have_text("0")
    screenshot(staff, "console-progress.png", docs=True)

    # The resident receives it: decoded Japanese subject and body, and a link to manage.
    alert_mail = stack.wait_for_mail(address, 3, timeout=DELIVERY_MS / 1000)[2]
    assert alert_mail["Subject"] == f"[安心市 防災] {subject}"
    assert body in text_of(alert_mail)
    resident.goto(link_in(alert_mail, stack, "/manage/"))
    expect(resident.get_by_label("防災", exact=True)).to_be_checked()
    check_resident_page(resident, "manage")
    screenshot(resident, "manage-phone.png")

    # The unsubscribe link shows a page; its button stops the mail.
    unsubscribe_url = str(alert_mail["List-Unsubscribe"]).strip("<>")
    assert unsubscribe_url.startswith(stack.base_url + "/unsubscribe/")
    resident.goto(unsubscribe_url)
    check_resident_page(resident, "unsubscribe")
    screenshot(resident, "unsubscribe-phone.png")
    resident.locator("main button.danger").click()
    expect(resident.locator("main h1")).to_be_visible()
    expect(resident).to_have_url(unsubscribe_url)
    expect(resident.locator("main button")).to_have_count(0)
    check_resident_page(resident, "unsubscribed")

    # A second alert goes to nobody: the console says so, and the relay got nothing for them.
    second, second_body = "避難指示解除（訓練）", "北部地区の避難指示を解除しました。"
    compose(staff, stack, second, second_body)
    preview_and_send(staff, stack, second, second_body)
    expect(staff.locator("#live-status")).to_have_text(done, timeout=DELIVERY_MS)
    expect(staff.locator("#count-total")).to_have_text("0")
    received = [m["Subject"] for m in stack.sink.to(address)]
    assert len(received) == 3, received
    assert not any(second in s for s in received), received


def test_language_button_switches_the_page_to_english(stack: Stack, new_page: NewPage) -> None:
    page = new_page(PHONE, "language")
    page.goto(stack.base_url + "/subscribe/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_label("防災", exact=True)).to_be_visible()

    english = page.locator("header form.lang").get_by_role("button", name="English")
    expect(english).to_have_attribute("lang", "en")
    english.click()
    expect(page).to_have_url(stack.base_url + "/subscribe/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("Disaster", exact=True)).to_be_visible()
    expect(page.locator("header form.lang").get_by_role("button", name="日本語")).to_be_visible()
    check_resident_page(page, "subscribe in English")

    page.reload()  # the choice sticks
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_bad_link_page_helps_and_is_accessible(stack: Stack, new_page: NewPage) -> None:
    page = new_page(PHONE, "bad-link")
    response = page.goto(stack.base_url + "/subscribe/confirm/garbage/")
    assert response is not None and response.status == 404
    expect(page.locator("main a[href='/subscribe/']")).to_be_visible()
    check_resident_page(page, "bad link")
    screenshot(page, "bad-link-phone.png")
