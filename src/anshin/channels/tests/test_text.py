"""Each network's limit, exactly at the boundary; the link is never cut, nor anything else
mid-character, mid-emoji or mid-URL."""

from __future__ import annotations

import pytest

from anshin.channels.text import (
    LIMITS,
    alert_marks,
    bluesky_length,
    grapheme_count,
    mastodon_length,
    post_text,
    utf16_length,
    x_weight,
)

LINK = "https://anshin.city.example.jp/alerts/123/"
KINDS = tuple(LIMITS)


def _post(kind: str, body: str, subject: str = "件名", marks: str = "") -> str:
    return post_text(kind=kind, subject=subject, body=body, marks=marks, link=LINK)


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("a", 1),
        ("あ", 2),
        ("漢", 2),
        ("ｱ", 2),  # half-width katakana (U+FF71) is outside the light ranges
        ("é", 1),
        ("\u10ff", 1),  # 4351, the last light code point of the first range
        ("\u1100", 2),  # 4352
        ("\u2000", 1),  # 8192
        ("\u200d", 1),  # 8205 (zero-width joiner)
        ("\u200e", 2),  # 8206: between the ranges
        ("\u2010", 1),  # 8208
        ("\u201f", 1),  # 8223
        ("\u2020", 2),  # 8224
        ("\u2032", 1),  # 8242
        ("\u2037", 1),  # 8247
        ("\u2038", 2),  # 8248
        ("…", 2),  # U+2026 itself
        ("😀", 2),  # outside the BMP: one code point
        ("http://a.jp", 23),  # every URL is 23, short or long
        ("https://example.com/" + "x" * 100, 23),
        ("見て https://a.jp/x です", 2 * 2 + 1 + 23 + 1 + 2 * 2),
        ("https://a.jp/x.", 24),  # the full stop ends the sentence, not the URL
        ("example.com", 23),  # X links bare domains too
        ("mail me at ab@example.com", len("mail me at ab@example.com")),
    ],
)
def test_x_weights(text: str, weight: int) -> None:
    assert x_weight(text) == weight


def test_x_post_of_exactly_280_is_sent_whole() -> None:
    # "件名\n" 5 + body + "\n" 1 + link 23 = 280 with 125 × "あ" (250) and one "a".
    body = "あ" * 125 + "a"
    text = _post("twitter", body)

    assert x_weight(text) == 280
    assert text == f"件名\n{body}\n{LINK}"


def test_x_post_of_281_is_cut_to_the_longest_that_fits() -> None:
    text = _post("twitter", "あ" * 125 + "aa")

    # 280 - ("…" 2 + "\n" 1 + 23) leaves 254: "件名\n" 5 + 124 × "あ" 248 = 253.
    assert text == "件名\n" + "あ" * 124 + f"…\n{LINK}"
    assert x_weight(text) == 279


def test_mastodon_500_is_whole_and_501_is_cut() -> None:
    # "件名\n" 3 + body + "\n" 1 + link 23 (a URL counts 23) = 500 with 473 characters.
    whole = _post("mastodon", "あ" * 473)
    cut = _post("mastodon", "あ" * 474)

    assert mastodon_length(whole) == 500 and whole.endswith("あ\n" + LINK)
    assert cut == "件名\n" + "あ" * 472 + f"…\n{LINK}"
    assert mastodon_length(cut) == 500


def test_bluesky_counts_graphemes_and_the_link_in_full() -> None:
    room = 300 - len("件名\n") - 1 - len(LINK)
    whole = _post("bluesky", "👍🏽" * room)  # one grapheme each: emoji and skin tone
    cut = _post("bluesky", "e\u0301" * (room + 1))  # "é" as e + combining acute

    assert grapheme_count(whole) == 300 and whole.count("👍🏽") == room
    assert cut == "件名\n" + "e\u0301" * (room - 1) + f"…\n{LINK}"
    assert grapheme_count(cut) == 300


def test_bluesky_also_stays_within_3000_bytes() -> None:
    family = "👨‍👩‍👧‍👦"  # 25 bytes of UTF-8, one grapheme
    text = _post("bluesky", family * 300)

    assert len(text.encode()) <= 3000
    assert grapheme_count(text) < 300
    assert bluesky_length(text) <= 300
    assert text.endswith(f"{family}…\n{LINK}")


@pytest.mark.parametrize("kind", ["slack", "webhook"])
def test_generous_networks_get_the_whole_alert(kind: str) -> None:
    body = "\n".join(["本文" * 1000] * 5)  # 10,000 characters

    assert _post(kind, body) == f"件名\n{body}\n{LINK}"


def test_line_counts_utf16_units() -> None:
    assert utf16_length("あ😀") == 3
    text = _post("line", "😀" * 5000)
    assert utf16_length(text) <= 5000 and text.endswith(f"😀…\n{LINK}")


@pytest.mark.parametrize("kind", KINDS)
def test_a_url_in_the_body_is_kept_whole_or_left_out(kind: str) -> None:
    inner = "https://www.keishicho.metro.tokyo.lg.jp/kurashi/higai/" + "a" * 40
    for filler in range(0, 700, 7):
        text = _post(kind, "あ" * filler + " 詳細 " + inner + " 以上" * 3000)
        summary = text[: -len(LINK)]
        assert inner in summary or "https://" not in summary
        assert text.endswith("\n" + LINK)


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_bodies_stay_within_the_limit_and_keep_the_link(kind: str) -> None:
    limit = LIMITS[kind]
    bodies = [
        "😀🇯🇵👨‍👩‍👧" * 2000,  # outside the BMP, flags, ZWJ sequences
        "か\u3099" * 5000,  # combining voiced mark
        "\u202eevil\u202c \u200f" * 1000,  # RTL override and marks
        "http://x.jp/" * 800,  # nothing but URLs
        ("a" * 9999) + "\n",
        "\u0301" * 10_000,  # nothing but combining marks
    ]
    for body in bodies:
        text = _post(kind, body, subject="【テスト】見出し" * 10)
        assert limit.measure(text) <= limit.maximum
        assert text.endswith("\n" + LINK)
        summary = text[: -len(LINK) - 1].removesuffix("…")
        assert ("【テスト】見出し" * 10 + "\n" + body).startswith(summary.rstrip())


def test_the_cut_never_splits_a_grapheme() -> None:
    body = "🇯🇵" * 200  # regional-indicator pairs: half a flag is another flag's letter
    text = _post("twitter", body)
    summary = text.split("\n")[1].removesuffix("…")

    assert summary == "🇯🇵" * (len(summary) // 2)


def test_blank_lines_are_dropped_and_lines_trimmed() -> None:
    assert _post("slack", "  一行目  \n\n\n二行目\r\n") == f"件名\n一行目\n二行目\n{LINK}"


@pytest.mark.parametrize(
    ("status", "msg_type", "marks"),
    [
        ("Actual", "Alert", ""),
        ("Exercise", "Alert", "【訓練】"),
        ("Test", "Alert", "【テスト】"),
        ("Actual", "Update", "【続報】"),
        ("Exercise", "Cancel", "【訓練】【取消】"),
    ],
)
def test_marks_follow_the_mail_subject(status: str, msg_type: str, marks: str) -> None:
    assert alert_marks(status=status, msg_type=msg_type) == marks
    assert _post("twitter", "本文", marks=marks).startswith(f"{marks}件名\n")


def test_when_only_the_link_fits_only_the_link_is_posted() -> None:
    link = "https://example.jp/" + "x" * 400
    text = post_text(kind="bluesky", subject="件名", body="本文", marks="", link=link)

    assert text == link
