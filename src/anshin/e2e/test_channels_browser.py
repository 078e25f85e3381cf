"""Social channels as staff click them, in the system Chromium through Playwright, against
real anshin processes (web and a worker) and the fake Mastodon server of the channel tests on
loopback: add a channel (the list shows its URL masked), publish an alert and see its post
sent with exactly the expected text; a post the platform refuses with 500 shows a retry
button, and the retry posts it. Every page passes axe-core.

No pytest-django database fixture: the stack has its own database, used by its own processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from anshin.channels.tests import fakes
from anshin.e2e.stack import Stack, running_stack
from anshin.e2e.staff import add_superuser, staff_page
from anshin.e2e.test_browser import DELIVERY_MS, assert_accessible

pytestmark = pytest.mark.browser

STAFF = "channels-clerk"
PASSWORD = "channels-browser-passphrase-9"
TOKEN = "mastoBrowserToken0042"
LABEL = "市公式マストドン"


@pytest.fixture
def mastodon() -> Iterator[fakes.FakeServer]:
    with fakes.fake_mastodon() as fake:
        yield fake


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    # One attempt per post, so a refusal shows as failed at once (no automatic retry later).
    env = {"ANSHIN_CHANNEL_MAX_ATTEMPTS": "1", "ANSHIN_CHANNEL_TIMEOUT_SECONDS": "5"}
    with running_stack(tmp_path, roles=("web", "worker"), extra_env=env) as stack:
        add_superuser(stack, STAFF, PASSWORD)
        yield stack


def expected_text(stack: Stack, alert_id: str, subject: str, body: str) -> str:
    """What the channel tests' post_text gives for a short alert: subject, body, link."""
    return f"{subject}\n{body}\n{stack.base_url}/alerts/{alert_id}/"


def open_posts(page: Page, stack: Stack, alert_id: str, state: str) -> None:
    """The alert's social posts page, reloaded until its one post is in `state`."""
    page.goto(f"{stack.base_url}/console/channels/alerts/{alert_id}/")
    expect(page.locator("#posts tbody tr[id^=post-]")).to_have_count(1)
    state_cell = page.locator("#posts tr[id^=post-] td.state")
    for _ in range(DELIVERY_MS // 500):
        if state_cell.inner_text() == state:
            return
        page.wait_for_timeout(500)
        page.reload()
    expect(state_cell).to_have_text(state)


def test_staff_add_a_mastodon_channel_see_posts_sent_and_retry_a_failed_one(
    stack: Stack, mastodon: fakes.FakeServer
) -> None:
    with staff_page(stack, STAFF, PASSWORD) as page:
        # The menu leads to the channels; there are none yet.
        page.locator("header nav a[href='/console/channels/']").click()
        expect(page.locator("#channels tbody tr")).to_have_count(1)
        expect(page.locator("#channels tbody")).to_contain_text("連携先はまだありません。")
        assert_accessible(page, "channels list empty")

        form = page.locator("#channel-form")
        form.locator("#id_category").select_option("bouhan")
        form.locator("#id_kind").select_option("mastodon")
        form.locator("#id_label").fill(LABEL)
        form.locator("#id_url").fill(f"mastodon://{TOKEN}@127.0.0.1:{mastodon.port}")
        form.locator("#id_enabled").check()
        form.locator("button[type=submit]").click()

        # Saved: the list shows the service and host, never the token.
        expect(page).to_have_url(stack.base_url + "/console/channels/")
        expect(page.locator("[role=status]")).to_be_visible()
        row = page.locator("#channels tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(LABEL)
        expect(row.locator("code")).to_have_text(f"mastodon://127.0.0.1:{mastodon.port}/****")
        assert TOKEN not in page.content()
        assert_accessible(page, "channels list")

        # An alert of the category is posted, with exactly the expected text.
        subject, body = (
            "特殊詐欺の電話に注意",
            "市役所職員を名乗る還付金詐欺の電話が相次いでいます。",
        )
        first = stack.publish("bouhan", subject, body)
        first_text = expected_text(stack, first, subject, body)
        open_posts(page, stack, first, "投稿済み")
        expect(page.locator("#posts")).to_contain_text(LABEL)
        expect(page.locator("#posts")).to_contain_text("HTTP 200 OK")
        expect(page.locator("#posts button")).to_have_count(0)
        sent = [r.json()["status"] for r in mastodon.posts("/api/v1/statuses")]
        assert sent == [first_text]
        assert_accessible(page, "social posts sent")

        # The platform fails (500): the post shows as failed, with a retry button.
        mastodon.fail_with(500)
        subject, body = "不審者情報", "午後4時ごろ、公園付近で声かけがありました。"
        second = stack.publish("bouhan", subject, body)
        open_posts(page, stack, second, "投稿失敗")
        expect(page.locator("#posts")).to_contain_text("HTTP 500 Internal Server Error")
        retry = page.locator("#posts button[type=submit]")
        expect(retry).to_have_text("今すぐ再試行")
        assert_accessible(page, "social posts failed")

        # The platform is back; the retry posts it, and only it.
        mastodon.fail_with(None)
        retry.click()
        expect(page).to_have_url(f"{stack.base_url}/console/channels/alerts/{second}/")
        expect(page.locator("[role=status]")).to_be_visible()
        open_posts(page, stack, second, "投稿済み")
        expect(page.locator("#posts button")).to_have_count(0)
        sent = [r.json()["status"] for r in mastodon.posts("/api/v1/statuses")]
        assert sent == [first_text, expected_text(stack, second, subject, body)]
        assert_accessible(page, "social posts retried")
