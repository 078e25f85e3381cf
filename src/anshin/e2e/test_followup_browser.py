"""A follow-up and a takedown as staff click them, in the system Chromium through Playwright,
against real web, worker and scheduler processes and a real SMTP server: a missing-person
alert was sent; the clerk opens it, sends a cancellation (residents get 【取消】), then removes
the person's name and ticks the city's Mastodon post (a fake on loopback) as deleted by hand;
the public page no longer shows the name and says part was removed. Every page passes axe-core.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from anshin.channels.tests import fakes
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
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CLERK = "followup-clerk"
PASSWORD = "followup-browser-passphrase-7"
RESIDENT = "hanako@example.jp"
NAME = "山田太郎"
SUBJECT = f"行方不明者の情報（{NAME}さん）"
BODY = f"{NAME}さん（82歳）が昨日から行方不明です。見かけた方は市役所へご連絡ください。"


@pytest.fixture
def mastodon() -> Iterator[fakes.FakeServer]:
    fake = fakes.fake_mastodon()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def stack(tmp_path: Path, mastodon: fakes.FakeServer) -> Iterator[Stack]:
    with running_stack(tmp_path) as running:
        running.anshin(
            "shell",
            "--no-imports",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_superuser({CLERK!r}, email='c@city.anshin.lg.jp', "
            f"password={PASSWORD!r})",
        )
        running.subscribe_all([RESIDENT], "bousai")
        running.anshin(
            "shell",
            "--no-imports",
            "-c",
            "from anshin.alerts.models import Category; "
            "from anshin.channels.services import channel_create; "
            "from anshin.core.audit import OPERATOR; "
            "channel_create(actor=OPERATOR, category=Category.objects.get(slug='bousai'), "
            f"kind='mastodon', label='市のマストドン', url='mastodon://t0k3n@127.0.0.1:{mastodon.port}')",
        )
        yield running


def wait_for_posts(fake: fakes.FakeServer, count: int) -> None:
    deadline = time.monotonic() + DELIVERY_MS / 1000
    while len(fake.accepted) < count:
        assert time.monotonic() < deadline, f"expected {count} post(s), got {len(fake.accepted)}"
        time.sleep(0.2)


def test_clerk_cancels_an_alert_then_removes_the_name(
    stack: Stack, mastodon: fakes.FakeServer
) -> None:
    base = stack.base_url
    alert_id = stack.publish("bousai", SUBJECT, BODY)
    stack.wait_for_mail(RESIDENT, timeout=DELIVERY_MS / 1000)
    wait_for_posts(mastodon, 1)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            staff = browser.new_context(viewport=DESKTOP, locale="ja-JP", timezone_id="Asia/Tokyo")
            staff.set_default_timeout(ACTION_MS)
            page = staff.new_page()
            browser_sign_in(page, base, CLERK, PASSWORD)
            page.goto(f"{base}/console/alerts/{alert_id}/")
            send_a_cancellation(page, stack, alert_id)
            wait_for_posts(mastodon, 2)
            record = remove_the_name(page, base, alert_id)
            tick_the_post_as_deleted(page, record)
            # Nothing was deleted on the network by anshin: only the two posts were sent.
            assert [(r.method, r.path) for r in mastodon.received] == [
                ("POST", "/api/v1/statuses")
            ] * 2

            resident = browser.new_context(viewport=PHONE, locale="ja-JP")
            resident.set_default_timeout(ACTION_MS)
            phone = resident.new_page()
            phone.goto(f"{base}/alerts/{alert_id}/")
            expect(phone.locator("h1")).to_have_text("行方不明者の情報")
            expect(phone.locator("#takedown-note")).to_contain_text(
                "この情報は、個人情報保護のため一部を削除しました（"
            )
            assert NAME not in phone.content()
            check_resident_page(phone, "alert page after a takedown")
            phone.goto(f"{base}/alerts/")
            assert NAME not in phone.content()
            assert NAME not in phone.request.get(f"{base}/alerts/{alert_id}/cap.xml").text()
            assert NAME not in phone.request.get(f"{base}/feeds/alerts.atom").text()
        finally:
            browser.close()


def send_a_cancellation(page: Page, stack: Stack, alert_id: str) -> None:
    """From the alert's console page: 取り消しを送る → prefilled → preview → send."""
    assert_accessible(page, "console alert page")
    page.get_by_role("link", name="取り消しを送る").click()
    expect(page).to_have_url(f"{stack.base_url}/console/alerts/{alert_id}/follow-up/cancel/")
    expect(page.locator("h1")).to_have_text("取り消しを送る")
    expect(page.locator("#id_body")).to_have_value(
        re.compile("に配信した防災の情報を取り消します。")
    )
    assert_accessible(page, "follow-up compose")
    page.locator("main button[name=preview]").click()
    expect(page.locator("#preview-subject")).to_have_text(f"[安心市 防災] 【取消】{SUBJECT}")
    assert_accessible(page, "follow-up preview")
    page.locator("#followup-send").click()
    expect(page).to_have_url(re.compile(re.escape(stack.base_url) + r"/console/alerts/\d+/$"))
    expect(page.locator("#followup-of")).to_contain_text(SUBJECT)
    mails = stack.wait_for_mail(RESIDENT, count=2, timeout=DELIVERY_MS / 1000)
    assert str(mails[-1]["Subject"]) == f"[安心市 防災] 【取消】{SUBJECT}"


def remove_the_name(page: Page, base: str, alert_id: str) -> str:
    """From the original's console page: 個人情報を削除する → corrected text and reason."""
    page.locator("#followup-of a").click()
    expect(page).to_have_url(f"{base}/console/alerts/{alert_id}/")
    expect(page.locator("#followup-list li")).to_have_count(1)
    page.locator("#takedown-link").click()
    expect(page).to_have_url(f"{base}/console/governance/alerts/{alert_id}/takedown/")
    assert_accessible(page, "takedown form")
    page.locator("#id_subject").fill("行方不明者の情報")
    page.locator("#id_body").fill("行方不明だった方は、無事に発見されました。")
    page.locator("#id_reason").fill("行方不明者が発見されたため")
    page.locator("#takedown-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(base) + r"/console/governance/takedowns/\d+/$"))
    expect(page.locator("#takedown-fields li")).to_have_count(2)
    assert_accessible(page, "takedown record")
    record = page.url
    # The cancellation repeated the subject, name included: the record points at it.
    follow_up = page.locator("#takedown-follow-ups li")
    expect(follow_up).to_have_count(1)
    follow_up.get_by_role("link", name="個人情報を削除する").click()
    page.locator("#id_subject").fill("行方不明者の情報")
    page.locator("#id_reason").fill("行方不明者が発見されたため")
    page.locator("#takedown-form button[type=submit]").click()
    expect(page.locator("#takedown-fields li")).to_have_count(1)
    assert NAME not in page.content()
    page.goto(f"{base}/console/alerts/{alert_id}/")
    expect(page.locator("h1")).to_have_text("行方不明者の情報")
    expect(page.locator("#takedown-list li")).to_have_count(1)
    assert NAME not in page.content()
    return record


def tick_the_post_as_deleted(page: Page, record: str) -> None:
    """The takedown record lists the Mastodon post: deleted by hand, then ticked here."""
    page.goto(record)
    expect(page.locator("#takedown-posts tbody tr")).to_have_count(1)
    row = page.locator("#takedown-posts tbody tr").first
    expect(row).to_contain_text("市のマストドン (Mastodon)")
    row.get_by_label("削除済み").check()
    row.get_by_role("button", name="記録する").click()
    expect(page.locator("#takedown-posts tbody tr").first).to_contain_text("削除済み（")
    assert_accessible(page, "takedown record after the tick")
