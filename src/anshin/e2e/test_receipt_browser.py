"""The yearly receipt check and the migration notice as people click them, in the system
Chromium through Playwright, against real web, worker and scheduler processes and a real
SMTP server: a clerk schedules a check; the scheduler mails it; a resident opens the link on a
phone and presses the button; the clerk sees the confirmation. Then a clerk imports the old
system's list with the notice and watches the notices go out. Every page passes axe-core.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import FilePayload, Page, expect, sync_playwright

from anshin.conftest import browser_sign_in
from anshin.e2e.stack import Stack, running_stack
from anshin.e2e.test_browser import (
    ACTION_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DELIVERY_MS,
    DESKTOP,
    PHONE,
    assert_accessible,
    check_resident_page,
    text_of,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CLERK = "receipt-clerk"
PASSWORD = "receipt-browser-passphrase-7"
OLD_LIST = "メールアドレス,配信区分\r\njiro@example.jp,防災\r\nhanako@example.jp,防災\r\n"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    # Send hour 0: a check dated today starts at once, whatever time the test runs.
    env = {"ANSHIN_RECEIPT_CHECK_SEND_HOUR": "0", "ANSHIN_SCHEDULER_INTERVAL": "0.5"}
    with running_stack(tmp_path, extra_env=env) as running:
        running.anshin(
            "shell",
            "--no-imports",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_superuser({CLERK!r}, email='c@city.anshin.lg.jp', "
            f"password={PASSWORD!r})",
        )
        running.subscribe_all(["hanako@example.jp", "taro..jiro@docomo.ne.jp"], "bousai")
        yield running


def sign_in(page: Page, base: str) -> None:
    browser_sign_in(page, base, CLERK, PASSWORD)
    expect(page).to_have_url(base + "/console/")


def test_clerk_schedules_a_check_and_a_resident_confirms_on_a_phone(stack: Stack) -> None:
    base = stack.base_url
    today = dt.datetime.now(ZoneInfo("Asia/Tokyo")).date()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            staff = browser.new_context(viewport=DESKTOP, locale="ja-JP", timezone_id="Asia/Tokyo")
            staff.set_default_timeout(ACTION_MS)
            page = staff.new_page()
            sign_in(page, base)
            page.locator("header nav a[href='/console/receipts/']").click()
            assert_accessible(page, "receipt check list")
            page.locator("#id_send_on").fill(today.isoformat())
            page.locator("#id_deadline").fill((today + dt.timedelta(days=14)).isoformat())
            page.locator("input[name=policy][value=suspend]").check()
            page.locator("main form button[type=submit]").click()
            expect(page).to_have_url(re.compile(r"/console/receipts/\d+/$"))
            assert_accessible(page, "receipt check detail")

            mail = stack.wait_for_mail("hanako@example.jp", timeout=DELIVERY_MS / 1000)[0]
            path = next(p for p in re.findall(r"https?://[^/\s]+(/receipt/\S+/)", text_of(mail)))

            resident = browser.new_context(viewport=PHONE, locale="ja-JP")
            resident.set_default_timeout(ACTION_MS)
            phone = resident.new_page()
            phone.goto(base + path)
            expect(phone.locator("h1")).to_have_text("年に一度の受信確認")
            check_resident_page(phone, "receipt page")
            phone.get_by_role("button", name="受信を確認しました").click()
            expect(phone.locator("[role=status]")).to_contain_text("記録しました")
            check_resident_page(phone, "receipt confirmed")

            expect(page.locator("#count-confirmed")).to_have_text("1", timeout=DELIVERY_MS)
            expect(page.locator("#count-not-yet")).to_have_text("1")
        finally:
            browser.close()


def test_clerk_imports_the_old_list_and_watches_the_notices_go_out(stack: Stack) -> None:
    base = stack.base_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            staff = browser.new_context(viewport=DESKTOP, locale="ja-JP", timezone_id="Asia/Tokyo")
            staff.set_default_timeout(ACTION_MS)
            page = staff.new_page()
            sign_in(page, base)
            page.goto(base + "/console/receipts/")
            page.locator("main a[href='/console/residents/import/']").click()
            assert_accessible(page, "migration upload")
            upload: FilePayload = {
                "name": "旧システム.csv",
                "mimeType": "text/csv",
                "buffer": OLD_LIST.encode("cp932"),
            }
            page.locator("#id_file").set_input_files(files=[upload])
            page.locator("#id_basis").fill("旧システムから移行 2017-03-01")
            page.locator("#id_notify").check()
            page.locator("main button[type=submit]").click()
            expect(page.locator("#count-created")).to_have_text("1")
            expect(page.locator("#count-already")).to_have_text("1")
            assert_accessible(page, "migration preview")
            page.locator("main form button[type=submit]").click()
            expect(page).to_have_url(re.compile(r"/console/residents/imports/\d+/$"))
            expect(page.locator("#notices-sent")).to_have_text("1", timeout=DELIVERY_MS)
            assert_accessible(page, "migration result")
            (notice,) = stack.wait_for_mail("jiro@example.jp")
            assert "新しい配信システム" in text_of(notice)
            assert len(stack.sink.to("hanako@example.jp")) == 0
        finally:
            browser.close()
