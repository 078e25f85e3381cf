"""The public archive: which alerts appear, in which order, on which page; one page per alert;
hostile text escaped; unknown ids and odd page numbers never a server error."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from anshin.alerts.models import Alert, CapMsgType, CapStatus
from anshin.alerts.selectors import ARCHIVE_PAGE_SIZE
from anshin.alerts.tests.conftest import START, MakeAlert

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script> & <b>太字</b>'


def listed(html: str) -> list[int]:
    """The ids of the alerts listed on an archive page, in page order."""
    return [int(pk) for pk in re.findall(r'<li id="alert-(\d+)">', html)]


def test_archive_lists_published_alerts_newest_first(client: Client, make_alert: MakeAlert) -> None:
    older = make_alert("避難所を開設しました", minutes=0)
    newer = make_alert("不審者情報", slug="bouhan", minutes=30)
    make_alert("下書き", minutes=60, published_at=None)
    response = client.get("/alerts/")
    assert response.status_code == 200
    html = response.content.decode()
    assert listed(html) == [newer.pk, older.pk]
    assert "下書き" not in html
    assert f'href="/alerts/{newer.pk}/">不審者情報</a>' in html
    assert '<time datetime="2026-11-01T09:30:00+09:00">2026-11-01 09:30</time>' in html


def test_archive_says_so_when_nothing_was_sent(client: Client, cap_categories: Any) -> None:
    html = client.get("/alerts/").content.decode()
    assert 'id="no-alerts"' in html and listed(html) == []


def test_category_archive_lists_only_that_category(client: Client, make_alert: MakeAlert) -> None:
    make_alert("避難所を開設しました", minutes=0)
    fraud = make_alert("特殊詐欺に注意", slug="bouhan", minutes=10)
    person = make_alert("行方不明者", slug="bouhan", minutes=20)
    html = client.get("/alerts/category/bouhan/").content.decode()
    assert listed(html) == [person.pk, fraud.pk]
    assert '<strong aria-current="page">防犯</strong>' in html
    assert 'href="/feeds/bouhan/alerts.atom"' in html


def test_unknown_category_and_unknown_alert_are_the_sites_404(
    client: Client, make_alert: MakeAlert
) -> None:
    draft = make_alert("下書き", published_at=None)
    for path in (
        "/alerts/category/nothing/",
        "/alerts/999999/",
        f"/alerts/{draft.pk}/",
        f"/alerts/{draft.pk}/cap.xml",
        "/alerts/999999/cap.xml",
        "/alerts/99999999999999999999999999/",
        "/alerts/abc/",
        "/alerts/-1/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "ページが見つかりません" in response.content.decode(), path


def test_pages_hold_twenty_alerts_and_link_to_each_other(
    client: Client, make_alert: MakeAlert
) -> None:
    alerts = [make_alert(f"お知らせ{n}", minutes=n) for n in range(ARCHIVE_PAGE_SIZE + 5)]
    newest_first = [a.pk for a in reversed(alerts)]
    first = client.get("/alerts/").content.decode()
    second = client.get("/alerts/?page=2").content.decode()
    assert listed(first) == newest_first[:ARCHIVE_PAGE_SIZE]
    assert listed(second) == newest_first[ARCHIVE_PAGE_SIZE:]
    assert "2ページ中1ページ目" in first and 'rel="next" href="?page=2"' in first
    assert 'rel="prev"' not in first
    assert 'rel="prev" href="?page=1"' in second and 'rel="next"' not in second


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("abc", 1),
        ("", 1),
        ("2", 2),
        ("3", 2),  # past the end: the last page
        ("0", 2),
        ("-5", 2),
        ("99999999999999999999999999999", 2),
        ("1.5", 1),
        ("%00", 1),
        ("<script>", 1),
    ],
)
def test_odd_page_numbers_give_a_real_page(
    client: Client, make_alert: MakeAlert, page: str, expected: int
) -> None:
    alerts = [make_alert(f"お知らせ{n}", minutes=n) for n in range(ARCHIVE_PAGE_SIZE + 1)]
    response = client.get("/alerts/", {"page": page})
    assert response.status_code == 200
    ids = listed(response.content.decode())
    assert ids == ([alerts[0].pk] if expected == 2 else [a.pk for a in alerts[:0:-1]])


def test_alert_page_shows_the_alert(client: Client, make_alert: MakeAlert) -> None:
    alert = make_alert("避難所を開設しました", body="第一小学校\n第二小学校")
    response = client.get(f"/alerts/{alert.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>避難所を開設しました</h1>" in html
    assert '<div class="panel" id="alert-body">第一小学校<br>第二小学校</div>' in html
    assert f'href="{django_settings.BASE_URL}/alerts/{alert.pk}/cap.xml"' in html
    assert 'id="status-note"' not in html and 'id="stopped-note"' not in html
    assert 'id="alert-en"' not in html


def test_alert_page_links_cap_from_base_url_not_host(
    client: Client, make_alert: MakeAlert, settings: Any
) -> None:
    settings.BASE_URL = "https://bousai.city.example.jp"
    settings.ALLOWED_HOSTS = ["*"]
    alert = make_alert("避難所を開設しました")
    html = client.get(f"/alerts/{alert.pk}/", HTTP_HOST="evil.example.com").content.decode()
    assert f'href="https://bousai.city.example.jp/alerts/{alert.pk}/cap.xml"' in html
    assert "evil.example.com" not in html


def test_stopped_alert_stays_listed_and_says_it_was_stopped(
    client: Client, make_alert: MakeAlert
) -> None:
    stopped_at = START + timedelta(minutes=5)
    alert = make_alert("誤報", stopped_at=stopped_at)
    listing = client.get("/alerts/").content.decode()
    assert listed(listing) == [alert.pk] and "（配信停止）" in listing
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert "この情報の配信は 2026-11-01 09:05 に停止されました" in page


@pytest.mark.parametrize(
    ("status", "label", "note"),
    [
        (CapStatus.EXERCISE, "【訓練】", "これは訓練です。実際の災害ではありません。"),
        (CapStatus.TEST, "【テスト】", "これはテスト送信です。実際の情報ではありません。"),
    ],
)
def test_exercise_and_test_are_marked_in_list_and_page(
    client: Client, make_alert: MakeAlert, status: str, label: str, note: str
) -> None:
    alert = make_alert("総合防災訓練", status=status)
    listing = client.get("/alerts/").content.decode()
    assert f'<strong class="warn">{label}</strong>' in listing
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert f'<p class="panel warn" id="status-note">{note}</p>' in page


def test_update_links_to_the_original(client: Client, make_alert: MakeAlert) -> None:
    original = make_alert("避難所を開設しました")
    update = make_alert(
        "避難所を追加しました", minutes=5, msg_type=CapMsgType.UPDATE, references=original
    )
    page = client.get(f"/alerts/{update.pk}/").content.decode()
    assert f'<a href="/alerts/{original.pk}/">避難所を開設しました</a>' in page
    assert "【更新】" in client.get("/alerts/").content.decode()


def test_hostile_text_is_escaped_everywhere_on_the_pages(
    client: Client, make_alert: MakeAlert
) -> None:
    alert = make_alert(HOSTILE, body=HOSTILE + "\n2行目", subject_en=HOSTILE, body_en=HOSTILE)
    for path in ("/alerts/", f"/alerts/{alert.pk}/", "/alerts/category/bousai/"):
        html = client.get(path).content.decode()
        assert "<script>" not in html and "<b>太字</b>" not in html, path
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;太字" in html


def test_english_version_is_shown_with_its_language(client: Client, make_alert: MakeAlert) -> None:
    alert = make_alert(
        "避難所を開設しました", subject_en="Shelters are open", body_en="At the first school."
    )
    japanese = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert '<html lang="ja"' in japanese
    assert japanese.index('<article lang="ja"') < japanese.index('<article lang="en"')
    assert "<h1>避難所を開設しました</h1>" in japanese and "<h2>Shelters are open</h2>" in japanese
    client.cookies["django_language"] = "en"
    english = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert '<html lang="en"' in english and "Alert archive" in english
    assert english.index('<article lang="en"') < english.index('<article lang="ja"')
    assert "<h1>Shelters are open</h1>" in english and "<h2>避難所を開設しました</h2>" in english


def test_archive_is_japanese_by_default_and_english_on_request(
    client: Client, make_alert: MakeAlert
) -> None:
    make_alert("避難所を開設しました")
    japanese = client.get("/alerts/").content.decode()
    assert "<h1>配信した情報の一覧</h1>" in japanese and "すべての分類" in japanese
    client.cookies["django_language"] = "en"
    english = client.get("/alerts/").content.decode()
    assert "<h1>Alert archive</h1>" in english and "All categories" in english
    assert ">Disaster</a>" in english


def test_archive_pages_need_no_script(client: Client, make_alert: MakeAlert) -> None:
    alert = make_alert("避難所を開設しました")
    for path in ("/alerts/", f"/alerts/{alert.pk}/"):
        assert "<script" not in client.get(path).content.decode()


def test_an_alert_without_published_time_never_shows(client: Client, make_alert: MakeAlert) -> None:
    make_alert("下書き", published_at=None)
    assert Alert.objects.count() == 1
    assert listed(client.get("/alerts/").content.decode()) == []
