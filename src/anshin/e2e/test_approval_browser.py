"""A second person's approval and a test send as people click them, in the system Chromium
through Playwright, against real web, worker and scheduler processes and a real SMTP server:
an author writes an alert in a category that requires approval; an approver, in another
browser, approves it and watches it go out. Then an author sends a test to the test address
only, the person holding the test phone confirms its arrival, and the author sees it before
the real send. Every console page passes axe-core.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

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
    text_of,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "approval-browser-passphrase-5"
CANARY = "test.phone@docomo.ne.jp"
SETUP = """
from django.contrib.auth.models import Group, User
from anshin.alerts.models import Category
from anshin.core.audit import OPERATOR
from anshin.core.roles import role_named
from anshin.delivery.canaries import canary_add
for name, role in (("author-a", "author"), ("approver-a", "approver")):
    user = User.objects.create_user(name, password={password!r})
    user.groups.add(Group.objects.get(name=role_named(role).group))
Category.objects.filter(slug="bousai").update(requires_approval=True)
canary_add(actor=OPERATOR, address={canary!r}, label="docomo")
"""


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as running:
        script = SETUP.format(password=PASSWORD, canary=CANARY)
        running.anshin("shell", "--no-imports", "-c", script)
        running.subscribe_all(["hanako@example.jp", "taro..jiro@docomo.ne.jp"], "bousai")
        running.subscribe_all(["ichiro@example.jp"], "bouhan")
        yield running


def staff_page(browser: Browser, base: str, username: str) -> Page:
    context = browser.new_context(viewport=DESKTOP, locale="ja-JP", timezone_id="Asia/Tokyo")
    context.set_default_timeout(ACTION_MS)
    page = context.new_page()
    browser_sign_in(page, base, username, PASSWORD)
    expect(page).to_have_url(base + "/console/")
    return page


def compose(page: Page, base: str, category: str, subject: str) -> None:
    page.goto(base + "/console/compose/")
    page.locator("#id_category").select_option(category)
    page.locator("#id_subject").fill(subject)
    page.locator("#id_body").fill("第一小学校を避難所として開設しました。")
    page.locator("button[name=preview]").click()
    expect(page.locator("#preview-subject")).to_contain_text(subject)


def test_an_approver_approves_an_alert_from_another_browser(stack: Stack) -> None:
    base = stack.base_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            author = staff_page(browser, base, "author-a")
            compose(author, base, "bousai", "避難所開設")
            expect(author.locator("#approval-note")).to_be_visible()
            author.locator("#send").click()
            expect(author).to_have_url(re.compile(r"/console/alerts/\d+/$"))
            alert_path = author.url.removeprefix(base)
            expect(author.locator("[role=status] .notice")).to_contain_text("承認を依頼しました")
            expect(author.locator("#approval-wait")).to_contain_text("承認できません")
            assert_accessible(author, "held alert, author")
            assert stack.sink.messages == []

            approver = staff_page(browser, base, "approver-a")
            expect(approver.locator("#nav-held")).to_contain_text("(1)")
            approver.locator("#nav-held").click()
            approver.locator(f"main a[href='{alert_path}']").click()
            expect(approver.locator("#approval-asked")).to_contain_text("author-a")
            assert_accessible(approver, "held alert, approver")
            approver.locator("#approve").click()
            expect(approver.locator("#count-accepted")).to_have_text("2", timeout=DELIVERY_MS)
            expect(approver.locator("#approval")).to_contain_text("approver-a")
            stack.wait_for_mail("hanako@example.jp")
            stack.wait_for_mail(CANARY)
            expect(approver.locator("#canary-table")).to_contain_text(
                "中継サーバーが受理", timeout=DELIVERY_MS
            )
            assert_accessible(approver, "approved alert")
        finally:
            browser.close()


def test_a_test_send_shows_the_arrival_before_the_real_send(stack: Stack) -> None:
    base = stack.base_url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            author = staff_page(browser, base, "author-a")
            compose(author, base, "bouhan", "不審者情報")
            author.locator("#test-send").click()
            expect(author).to_have_url(re.compile(r"/console/alerts/\d+/$"))
            expect(author.locator("#canary-table")).to_contain_text(
                "中継サーバーが受理（250）", timeout=DELIVERY_MS
            )
            assert "test.phone" not in author.content()
            assert_accessible(author, "test send")
            (mail,) = stack.wait_for_mail(CANARY)
            assert stack.sink.to("ichiro@example.jp") == []
            path = re.findall(r"https?://[^/\s]+(/console/canaries/confirm/\S+/)", text_of(mail))

            phone = browser.new_context(viewport=PHONE, locale="ja-JP").new_page()
            phone.goto(base + path[0])
            phone.get_by_role("button", name="届きました").click()
            expect(phone.locator("#canary-confirmed")).to_be_visible()

            expect(author.locator("#canary-table")).to_contain_text(
                "到着確認済み", timeout=DELIVERY_MS
            )
            author.locator("#release").click()
            expect(author.locator("#count-accepted")).to_have_text("1", timeout=DELIVERY_MS)
            stack.wait_for_mail("ichiro@example.jp")
            stack.wait_for_mail(CANARY, count=2)
        finally:
            browser.close()
