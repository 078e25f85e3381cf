"""The public archive as a resident without registration reads it, on a 320 px phone in the
system Chromium through Playwright, against a real anshin web process: the list, one alert
with its English version, the language switch. Every page passes axe-core.

No pytest-django database fixture: the stack has its own database, used by its own processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from anshin.e2e.stack import Stack, running_stack
from anshin.e2e.test_browser import (
    ACTION_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    check_resident_page,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path, roles=("web",)) as stack:
        yield stack


def publish(stack: Stack, *args: str) -> str:
    return stack.anshin("alert", "publish", *args).stdout.strip()


def test_resident_reads_the_archive_and_an_alert_on_a_phone(stack: Stack) -> None:
    fraud = publish(stack, "--category=bouhan", "--subject=特殊詐欺に注意", "--body=電話に注意")
    drill = publish(
        stack,
        "--category=bousai",
        "--subject=総合防災訓練の避難指示",
        "--body=第一小学校へ避難してください。\n（訓練）",
        "--status=Exercise",
        "--english-subject=Evacuation order (drill)",
        "--english-body=Go to the first school.",
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=PHONE, locale="ja-JP", timezone_id="Asia/Tokyo")
            context.set_default_timeout(ACTION_MS)
            page = context.new_page()
            page.goto(stack.base_url + "/alerts/")
            items = page.locator("#alert-list > li")
            expect(items).to_have_count(2)
            expect(items.nth(0)).to_contain_text("総合防災訓練の避難指示")
            expect(items.nth(0)).to_contain_text("【訓練】")
            expect(items.nth(1)).to_contain_text("特殊詐欺に注意")
            check_resident_page(page, "alert archive")

            page.locator("#category-nav a", has_text="防犯").click()
            expect(page).to_have_url(stack.base_url + "/alerts/category/bouhan/")
            expect(page.locator("#alert-list > li")).to_have_count(1)
            page.locator(f"#alert-{fraud} a").click()
            expect(page.locator("h1")).to_have_text("特殊詐欺に注意")

            page.goto(stack.base_url + f"/alerts/{drill}/")
            expect(page.locator("#status-note")).to_contain_text("訓練")
            expect(page.locator("#alert-en h2")).to_have_text("Evacuation order (drill)")
            check_resident_page(page, "alert page")

            page.locator("form.lang button[value=en]").click()
            expect(page.locator("h1")).to_have_text("Evacuation order (drill)")
            check_resident_page(page, "alert page in English")

            cap = page.request.get(stack.base_url + f"/alerts/{drill}/cap.xml")
            assert cap.ok and cap.headers["content-type"].startswith("application/cap+xml")
            assert "<status>Exercise</status>" in cap.text()
            context.close()
        finally:
            browser.close()
