"""The public transparency page as a resident opens it on a phone, in the system Chromium:
Japanese by default with a switch to English, no sideways scrolling, no serious axe
violation, and the certificate key downloadable. A purge run by the operator shows up in the
figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from anshin.e2e.stack import running_stack
from anshin.e2e.test_browser import ACTION_MS, CHROMIUM, CHROMIUM_ARGS, PHONE, check_resident_page

pytestmark = pytest.mark.browser


def test_resident_reads_the_transparency_page_in_japanese_and_english(tmp_path: Path) -> None:
    with running_stack(tmp_path, roles=("web",)) as stack, sync_playwright() as playwright:
        stack.anshin("retention", "purge")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=PHONE, locale="ja-JP", accept_downloads=True)
            context.set_default_timeout(ACTION_MS)
            page = context.new_page()
            page.goto(stack.base_url + "/transparency/")
            expect(page.locator("h1")).to_have_text("個人情報の取扱いについて")
            expect(page.locator("#period-delivery td").nth(1)).to_have_text("400日")
            expect(page.locator("#figure-certificates")).to_have_text("0")
            fingerprint = page.locator("#key-fingerprint").inner_text()
            assert len(fingerprint) == 79
            check_resident_page(page, "transparency ja")
            with page.expect_download() as download:
                page.locator("a[download]").click()
            assert Path(download.value.path()).read_text().startswith("-----BEGIN PUBLIC KEY")
            page.locator("header form.lang button[value=en]").click()
            expect(page.locator("h1")).to_have_text("How we handle your data")
            expect(page.locator("#period-audit td").nth(1)).to_have_text("1827 days")
            check_resident_page(page, "transparency en")
        finally:
            browser.close()
