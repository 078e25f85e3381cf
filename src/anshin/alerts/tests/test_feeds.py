"""Atom and RSS feeds and the CAP Atom index, parsed as XML: exact entries, dates and links,
all built from ANSHIN_BASE_URL whatever the Host header says."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.test import Client

from anshin.alerts.models import CapStatus
from anshin.alerts.selectors import FEED_SIZE
from anshin.alerts.tests.conftest import MakeAlert

pytestmark = pytest.mark.django_db

A = "{http://www.w3.org/2005/Atom}"
BASE = "https://anshin.city.example.jp"
HOSTILE = '<script>alert("x")</script> & <b>太字</b> ]]>'


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.BASE_URL = BASE
    settings.ALLOWED_HOSTS = ["*"]


def fetch(client: Client, path: str) -> ET.Element:
    response = client.get(path, HTTP_HOST="attacker.example.com")
    assert response.status_code == 200, path
    assert b"attacker.example.com" not in response.content
    return ET.fromstring(response.content)  # noqa: S314 - our own response, in a test


def entries(feed: ET.Element) -> list[ET.Element]:
    return feed.findall(f"{A}entry")


def test_atom_feed_lists_alerts_newest_first_with_links_from_base_url(
    client: Client, make_alert: MakeAlert
) -> None:
    older = make_alert("避難所を開設しました", minutes=0)
    newer = make_alert("不審者情報", slug="bouhan", minutes=30)
    make_alert("下書き", minutes=60, published_at=None)
    response = client.get("/feeds/alerts.atom")
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = fetch(client, "/feeds/alerts.atom")
    assert feed.findtext(f"{A}title") == "安心市 防犯・防災メール"
    assert feed.find(f"{A}link[@rel='self']").get("href") == BASE + "/feeds/alerts.atom"  # type: ignore[union-attr]
    assert feed.find(f"{A}link[@rel='alternate']").get("href") == BASE + "/alerts/"  # type: ignore[union-attr]
    assert feed.findtext(f"{A}updated") == "2026-11-01T09:30:00+09:00"
    got = [
        (
            e.findtext(f"{A}title"),
            e.findtext(f"{A}id"),
            e.find(f"{A}link").get("href"),  # type: ignore[union-attr]
            e.findtext(f"{A}published"),
            e.find(f"{A}category").get("term"),  # type: ignore[union-attr]
        )
        for e in entries(feed)
    ]
    assert got == [
        (
            "不審者情報",
            f"{BASE}/alerts/{newer.pk}/",
            f"{BASE}/alerts/{newer.pk}/",
            "2026-11-01T09:30:00+09:00",
            "防犯",
        ),
        (
            "避難所を開設しました",
            f"{BASE}/alerts/{older.pk}/",
            f"{BASE}/alerts/{older.pk}/",
            "2026-11-01T09:00:00+09:00",
            "防災",
        ),
    ]


def test_rss_feed_has_the_same_alerts(client: Client, make_alert: MakeAlert) -> None:
    older = make_alert("避難所を開設しました", minutes=0)
    newer = make_alert("不審者情報", slug="bouhan", minutes=30)
    response = client.get("/feeds/alerts.rss")
    assert response["Content-Type"] == "application/rss+xml; charset=utf-8"
    channel = fetch(client, "/feeds/alerts.rss").find("channel")
    assert channel is not None and channel.findtext("link") == BASE + "/alerts/"
    items = [
        (i.findtext("title"), i.findtext("link"), i.findtext("guid"), i.findtext("pubDate"))
        for i in channel.findall("item")
    ]
    assert items == [
        (
            "不審者情報",
            f"{BASE}/alerts/{newer.pk}/",
            f"{BASE}/alerts/{newer.pk}/",
            "Sun, 01 Nov 2026 09:30:00 +0900",
        ),
        (
            "避難所を開設しました",
            f"{BASE}/alerts/{older.pk}/",
            f"{BASE}/alerts/{older.pk}/",
            "Sun, 01 Nov 2026 09:00:00 +0900",
        ),
    ]


def test_category_feeds_hold_only_that_category(client: Client, make_alert: MakeAlert) -> None:
    make_alert("避難所を開設しました", minutes=0)
    fraud = make_alert("特殊詐欺に注意", slug="bouhan", minutes=10)
    feed = fetch(client, "/feeds/bouhan/alerts.atom")
    assert [e.findtext(f"{A}id") for e in entries(feed)] == [f"{BASE}/alerts/{fraud.pk}/"]
    assert feed.findtext(f"{A}title") == "安心市 防犯・防災メール: 防犯"
    assert feed.find(f"{A}link[@rel='self']").get("href") == BASE + "/feeds/bouhan/alerts.atom"  # type: ignore[union-attr]
    rss = fetch(client, "/feeds/bouhan/alerts.rss").find("channel")
    assert rss is not None
    assert [i.findtext("guid") for i in rss.findall("item")] == [f"{BASE}/alerts/{fraud.pk}/"]


def test_unknown_category_feed_is_404(client: Client, cap_categories: Any) -> None:
    for path in ("/feeds/nothing/alerts.atom", "/feeds/nothing/alerts.rss"):
        response = client.get(path)
        assert response.status_code == 404
        assert "ページが見つかりません" in response.content.decode()


def test_feed_holds_the_latest_fifty(client: Client, make_alert: MakeAlert) -> None:
    alerts = [make_alert(f"お知らせ{n}", minutes=n) for n in range(FEED_SIZE + 3)]
    feed = fetch(client, "/feeds/alerts.atom")
    assert [e.findtext(f"{A}id") for e in entries(feed)] == [
        f"{BASE}/alerts/{a.pk}/" for a in reversed(alerts[3:])
    ]


def test_empty_feed_is_still_valid(client: Client, cap_categories: Any) -> None:
    feed = fetch(client, "/feeds/alerts.atom")
    assert entries(feed) == [] and feed.findtext(f"{A}updated")


def test_exercise_and_stopped_alerts_are_marked_in_feeds(
    client: Client, make_alert: MakeAlert
) -> None:
    make_alert("総合防災訓練", status=CapStatus.EXERCISE, stopped_at=make_alert("x").published_at)
    (entry, _plain) = entries(fetch(client, "/feeds/alerts.atom"))
    assert entry.findtext(f"{A}title") == "【訓練】総合防災訓練"
    summary = entry.findtext(f"{A}summary") or ""
    assert summary.startswith("<p>この情報の配信は途中で停止されました。</p>")


def test_hostile_text_comes_out_escaped_in_feeds(client: Client, make_alert: MakeAlert) -> None:
    make_alert(HOSTILE, body=HOSTILE + "\n2行目")
    atom = entries(fetch(client, "/feeds/alerts.atom"))[0]
    # Atom titles are plain text: the reader sees exactly what staff typed.
    assert atom.findtext(f"{A}title") == HOSTILE
    # The summary is HTML: the markup staff typed arrives as text, never as elements.
    summary = atom.findtext(f"{A}summary")
    assert summary == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;太字&lt;/b&gt; ]]&gt;"
        "<br>2行目"
    )
    rss = fetch(client, "/feeds/alerts.rss").find("channel/item")
    assert rss is not None
    # RSS readers treat <title> as HTML, so it is escaped once more.
    assert rss.findtext("title") == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;太字&lt;/b&gt; ]]&gt;"
    )
    assert rss.findtext("description") == summary


def test_cap_index_links_each_alerts_cap_message(client: Client, make_alert: MakeAlert) -> None:
    older = make_alert("避難所を開設しました", minutes=0)
    newer = make_alert("不審者情報", slug="bouhan", minutes=30)
    feed = fetch(client, "/feeds/cap.atom")
    assert feed.find(f"{A}link[@rel='self']").get("href") == BASE + "/feeds/cap.atom"  # type: ignore[union-attr]
    got = [
        (
            e.find(f"{A}link[@rel='alternate']").get("href"),  # type: ignore[union-attr]
            e.find(f"{A}link[@rel='related']").get("href"),  # type: ignore[union-attr]
        )
        for e in entries(feed)
    ]
    assert got == [
        (f"{BASE}/alerts/{newer.pk}/cap.xml", f"{BASE}/alerts/{newer.pk}/"),
        (f"{BASE}/alerts/{older.pk}/cap.xml", f"{BASE}/alerts/{older.pk}/"),
    ]
