"""The staff directory import as a clerk clicks it, in the system Chromium through Playwright,
against a real anshin web process: upload a CSV through the file input, read the preview
(column mapping and counts), apply, see the result counts and the masked list.

No pytest-django database fixture: the stack has its own database, used by its own processes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, expect

from anshin.e2e.stack import Stack, running_stack
from anshin.e2e.staff import add_superuser, staff_page
from anshin.e2e.test_browser import assert_accessible

pytestmark = pytest.mark.browser

CLERK = "directory-clerk"
PASSWORD = "directory-browser-passphrase-3"
MEMBERS = 25


def generated_csv() -> bytes:
    """A city's staff list as Excel writes it: Shift_JIS (CP932), CRLF, Japanese headers."""
    lines = ["職員番号,氏名,メールアドレス,電話番号,所属,参集グループ"]
    for n in range(1, MEMBERS + 1):
        lines.append(
            f"B{n:04d},職員{n}号,staff{n:03d}@city.anshin.lg.jp,090-1000-{n:04d},"
            f"{'防災課' if n % 2 else '総務課'},第{n % 3 + 1}配備"
        )
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path, roles=("web",)) as stack:
        add_superuser(stack, CLERK, PASSWORD)
        yield stack


def test_clerk_uploads_previews_and_applies_a_staff_csv(stack: Stack) -> None:
    stack_url = stack.base_url
    with staff_page(stack, CLERK, PASSWORD) as page:
        expect(page).to_have_url(stack_url + "/console/")

        # The menu leads to the directory; it is empty, and offers the import.
        page.locator("header nav a[href='/console/directory/']").click()
        expect(page.locator("#staff-active")).to_contain_text("0")
        page.locator("main a[href='/console/directory/upload/']").click()
        assert_accessible(page, "directory upload")

        upload: FilePayload = {
            "name": "職員名簿.csv",
            "mimeType": "text/csv",
            "buffer": generated_csv(),
        }
        page.locator("#id_file").set_input_files(files=[upload])
        page.locator("main button[type=submit]").click()

        # The preview: how each column is read, what applying would do; nothing yet.
        expect(page).to_have_url(stack_url + "/console/directory/upload/")
        mapping = page.locator("#import-mapping")
        expect(mapping).to_contain_text("メールアドレス")
        expect(mapping).to_contain_text("参集グループ")
        expect(page.locator("#count-rows")).to_have_text(str(MEMBERS))
        expect(page.locator("#count-created")).to_have_text(str(MEMBERS))
        expect(page.locator("#row-errors")).to_have_count(0)
        assert_accessible(page, "directory preview")

        page.locator("main button[name=apply]").click()
        expect(page).to_have_url(stack_url + "/console/directory/apply/")
        expect(page.locator("#import-status")).to_be_visible()
        expect(page.locator("#count-created")).to_have_text(str(MEMBERS))
        expect(page.locator("#count-updated")).to_have_text("0")

        # The list: all of them active, contact data masked.
        page.locator("main a[href='/console/directory/']").click()
        expect(page.locator("#staff-active")).to_contain_text(str(MEMBERS))
        body = page.locator("main").inner_text()
        assert "staff001@" not in body and "1000-0001" not in body
        assert re.search(r"s\*\*\*@a\*\*\*\.lg\.jp", body)
        assert_accessible(page, "directory list")
