"""Forwarded notices decoded to plain text, whatever charset or shape they come in."""

from __future__ import annotations

import base64

from anshin.alerts.models import BODY_MAX
from anshin.inbound.parsing import decode_bytes, read_notice

HEAD = b"From: a@keishicho.example.jp\r\nMessage-ID: <x@y>\r\n"


def test_iso_2022_jp_with_windows_extensions_decodes_in_full():
    data = "不審者".encode("iso2022_jp") + b'\x1b$B-!-"\x1b(B' + b" ok"
    assert decode_bytes(data, "ISO-2022-JP") == "不審者①② ok"


def test_iso_2022_jp_half_width_katakana():
    assert decode_bytes(b"\x1b(I6@6E\x1b(B", "iso-2022-jp") == "ｶﾀｶﾅ"


def test_shift_jis_with_ibm_extensions():
    assert decode_bytes("髙橋①".encode("cp932"), "Shift_JIS") == "髙橋①"


def test_unknown_charset_falls_back_without_raising():
    assert decode_bytes("あ".encode(), "x-made-up") == "あ"


def test_html_only_mail_becomes_text_without_scripts():
    data = HEAD + (
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        + "<html><head><style>p{}</style></head><body><p>注意</p><script>x()</script>"
        "<p>&lt;b&gt;下校時</p></body></html>".encode()
    )
    assert read_notice(data).body == "注意\n<b>下校時"


def test_encoded_subject_and_forward_prefix_removed():
    subject = base64.b64encode("転送: Fwd: 防犯情報".encode("iso2022_jp")).decode()
    data = HEAD + f"Subject: =?ISO-2022-JP?B?{subject}?=\r\n\r\nbody\r\n".encode()
    notice = read_notice(data)
    assert notice.subject == "防犯情報" and notice.source_from == "a@keishicho.example.jp"


def test_oversized_and_control_characters_are_cut():
    data = HEAD + b"Subject: " + b"x" * 5000 + b"\r\n\r\n" + b"\x07\x1b[31m" + b"y" * 50_000
    notice = read_notice(data)
    assert len(notice.subject) == 120 and len(notice.body) == BODY_MAX
    assert "\x07" not in notice.body and "\x1b" not in notice.body


def test_bad_date_and_missing_headers_give_blanks():
    notice = read_notice(b"Date: not a date\r\n\r\n")
    assert (notice.source_sent_at, notice.source_from, notice.subject) == (None, "", "")
