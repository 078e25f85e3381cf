"""A staff call-out as people click it, in the system Chromium through Playwright, against real
anshin processes (web, worker, scheduler) and a real SMTP server on loopback: a clerk composes
a roll-call to one department and sees the live count, sends it; a staff member opens the
short link from the mail on a phone and taps an answer; the clerk's board changes by itself.

No pytest-django database fixture: the stack has its own database, used by its own processes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from anshin.e2e.stack import Stack, running_stack
from anshin.e2e.staff import add_superuser, staff_page
from anshin.e2e.test_browser import (
    ACTION_MS,
    DELIVERY_MS,
    PHONE,
    assert_accessible,
    assert_fits_phone,
    text_of,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CLERK = "callout-clerk"
PASSWORD = "callout-browser-passphrase-5"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/r/[A-Za-z0-9_-]{11}")


def staff_csv(path: Path) -> Path:
    lines = ["職員番号,氏名,メールアドレス,所属,居住地域"]
    for n in range(1, 7):
        department = "防災安全課" if n <= 2 else "総務課"
        lines.append(f"C{n:03d},職員{n}号,staff{n}@city.anshin.lg.jp,{department},北部")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
    return path


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as stack:
        stack.anshin("directory", "import", str(staff_csv(tmp_path / "staff.csv")))
        add_superuser(stack, CLERK, PASSWORD)
        yield stack


def test_compose_send_reply_and_watch_the_board_change(stack: Stack) -> None:
    url = stack.base_url
    with staff_page(stack, CLERK, PASSWORD) as page:
        expect(page).to_have_url(url + "/console/")

        page.locator("header nav a[href='/console/callouts/']").click()
        page.locator("main a[href='/console/callouts/new/']").click()
        expect(page.locator("#count-value")).to_have_text("6")  # nothing ticked: everyone
        assert_accessible(page, "callout compose")

        page.locator("#id_subject").fill("参集訓練")
        page.locator("#id_body").fill("参集の可否を回答してください。")
        page.locator("#group-1 label", has_text="防災安全課").click()
        expect(page.locator("#count-value")).to_have_text("2")  # the live count (htmx)
        page.locator("button[name=preset][value=rollcall]").click()
        expect(page.locator("#id_choices")).to_have_value("参集可能\n参集不可\n30分以内に参集")
        expect(page.locator("#group-1 input:checked")).to_have_count(1)
        page.locator("button[name=send]").click()

        expect(page).to_have_url(re.compile(re.escape(url) + r"/console/callouts/\d+/$"))
        expect(page.locator("#count-no-answer")).to_have_text("2")
        expect(page.locator("#choice-counts td[data-choice='0']")).to_have_text("0")
        assert_accessible(page, "callout board")

        [mail] = stack.wait_for_mail("staff1@city.anshin.lg.jp", timeout=DELIVERY_MS / 1000)
        assert mail["Subject"].endswith("職員参集】参集訓練")
        assert not stack.sink.to("staff3@city.anshin.lg.jp")  # another department
        match = LINK.search(text_of(mail))
        assert match, text_of(mail)

        browser = page.context.browser
        assert browser is not None
        phone = browser.new_context(viewport=PHONE, locale="ja-JP", timezone_id="Asia/Tokyo")
        phone.set_default_timeout(ACTION_MS)
        reply = phone.new_page()
        reply.goto(match.group(0))
        expect(reply.locator("h1")).to_have_text("参集訓練")
        assert_fits_phone(reply, "callout reply")
        assert_accessible(reply, "callout reply")
        reply.locator("#reply-form button", has_text="参集可能").click()
        expect(reply.locator("#reply-saved")).to_contain_text("参集可能")
        phone.close()

        # The board refreshes itself: no reload here.
        expect(page.locator("#choice-counts td[data-choice='0']")).to_have_text(
            "1", timeout=DELIVERY_MS
        )
        expect(page.locator("#count-no-answer")).to_have_text("1")
        expect(page.locator("#people")).to_contain_text("職員1号")
