"""For browser tests of the staff console: a superuser in a running stack, and a page of the
system Chromium signed in as that user (desktop size, Japanese, Tokyo time)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, sync_playwright

from anshin.conftest import browser_sign_in
from anshin.e2e.stack import Stack
from anshin.e2e.test_browser import ACTION_MS, CHROMIUM, CHROMIUM_ARGS, DESKTOP


def add_superuser(stack: Stack, username: str, password: str) -> None:
    stack.anshin(
        "shell",
        "--no-imports",
        "-c",
        "from django.contrib.auth.models import User; "
        f"User.objects.create_superuser({username!r}, email='', password={password!r})",
    )


@contextmanager
def staff_page(stack: Stack, username: str, password: str) -> Iterator[Page]:
    """A new browser, signed in through the real pages (password, then the second step)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport=DESKTOP, locale="ja-JP", timezone_id="Asia/Tokyo"
            )
            context.set_default_timeout(ACTION_MS)
            page = context.new_page()
            browser_sign_in(page, stack.base_url, username, password)
            yield page
            context.close()
        finally:
            browser.close()
