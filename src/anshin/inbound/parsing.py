"""Reading a forwarded notice (警視庁メール, 指導室) into plain text, whatever it is made of.

Police and school mail in Japan still comes as ISO-2022-JP or Shift_JIS, often with the
Windows extensions (①, ㈱, 髙) that the strict codecs refuse, so each charset is decoded by
the most tolerant compatible codec, and never raises. Input is hostile until proven
otherwise: MIME parts are walked without recursion and counted, texts are cut to the
lengths a draft can hold, and HTML is reduced to its text.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from anshin.alerts.models import BODY_MAX, SUBJECT_MAX

_MAX_PARTS = 100
_MAX_DECODE = BODY_MAX * 4  # bytes of one part decoded at most
_SJIS = {"shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j"}
_ISO2022 = {"iso-2022-jp", "iso2022jp", "csiso2022jp", "iso-2022-jp-ms", "cp50220", "cp50221"}
_FORWARD_PREFIX = re.compile(r"^\s*(?:(?:fwd?|fw|転送)\s*[:：]\s*)+", re.IGNORECASE)
_ESCAPE = re.compile(rb"\x1b(\$[@B]|\$\(D|\([BJI])")


@dataclass(frozen=True)
class Notice:
    """What a draft is made from: the text, and where it came from."""

    subject: str
    body: str
    source_from: str
    source_date: str
    source_sent_at: datetime | None
    source_message_id: str
    message_id: str  # of the mail that reached us (its re-delivery is not a second draft)


def read_notice(raw: bytes) -> Notice:
    """The notice in `raw`. A forwarded-as-attachment mail (message/rfc822) yields the
    original's headers and text; otherwise the mail's own, with 'Fwd:' taken off."""
    outer = email.message_from_bytes(raw, policy=compat32)
    inner = _attached_message(outer) or outer
    subject = _FORWARD_PREFIX.sub("", header_text(inner, "Subject"))
    sent_at = _date(header_text(inner, "Date"))
    return Notice(
        subject=" ".join(subject.split())[:SUBJECT_MAX],
        body=_body(inner)[:BODY_MAX],
        source_from=_address(inner),
        source_date=header_text(inner, "Date")[:100],
        source_sent_at=sent_at,
        source_message_id=header_text(inner, "Message-ID")[:300],
        message_id=header_text(outer, "Message-ID")[:300],
    )


def header_text(msg: Message, name: str) -> str:
    """A header decoded from RFC 2047 (any Japanese charset), on one line; '' if unreadable."""
    value = msg.get(name)
    if value is None:
        return ""
    try:
        chunks = decode_header(str(value))
    except Exception:  # a malformed encoded word: show it as it came
        return " ".join(str(value).split())[:1000]
    text = "".join(decode_bytes(c, charset) if isinstance(c, bytes) else c for c, charset in chunks)
    return " ".join(text.split())[:1000]


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from bytes in a declared charset, never raising."""
    name = (charset or "").strip().lower()
    if name in _SJIS:
        return data.decode("cp932", "replace")
    if name in _ISO2022 or (not name and b"\x1b$" in data):
        return _decode_iso2022(data)
    try:
        return data.decode(name or "utf-8", "replace")
    except LookupError:  # an unknown or made-up charset name
        return data.decode("utf-8", "replace")


def _decode_iso2022(data: bytes) -> str:
    try:
        return data.decode("iso2022_jp")
    except UnicodeDecodeError:
        return _iso2022_as_cp932(data).decode("cp932", "replace")


def _iso2022_as_cp932(data: bytes) -> bytes:
    """ISO-2022-JP with the Windows extensions (CP50220/50221) rewritten as Shift_JIS bytes,
    which cp932 then decodes in full."""
    out = bytearray()
    mode = b"(B"
    for index, chunk in enumerate(_ESCAPE.split(data)):
        if index % 2:
            mode = chunk
        elif mode in (b"$@", b"$B"):
            pairs = chunk[: len(chunk) // 2 * 2]
            for j1, j2 in zip(pairs[::2], pairs[1::2], strict=True):
                out += _jis_pair_to_sjis(j1, j2)
        elif mode == b"(I":
            out += bytes(b | 0x80 for b in chunk if 0x21 <= b <= 0x5F)
        else:
            out += chunk
    return bytes(out)


def _jis_pair_to_sjis(j1: int, j2: int) -> bytes:
    if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
        return b"?"
    s1 = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
    s2 = j2 + 0x1F + (j2 >= 0x60) if j1 % 2 else j2 + 0x7E
    return bytes((s1, s2))


def _parts(msg: Message) -> Iterator[Message]:
    """The parts, depth first, without recursion, not entering attached messages."""
    stack = [msg]
    seen = 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop()
        seen += 1
        yield part
        payload = part.get_payload()
        if part.get_content_maintype() == "multipart" and isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


def _attached_message(msg: Message) -> Message | None:
    for part in _parts(msg):
        payload = part.get_payload()
        if part.get_content_type() == "message/rfc822" and isinstance(payload, list) and payload:
            inner = payload[0]
            return inner if isinstance(inner, Message) else None
    return None


def _body(msg: Message) -> str:
    texts = [p for p in _parts(msg) if p.get_content_maintype() == "text" and not _attachment(p)]
    plain = next((p for p in texts if p.get_content_subtype() == "plain"), None)
    if plain is not None:
        return _clean(_part_text(plain))
    html = next((p for p in texts if p.get_content_subtype() == "html"), None)
    return _clean(html_to_text(_part_text(html))) if html is not None else ""


def _attachment(part: Message) -> bool:
    return str(part.get("Content-Disposition", "")).strip().lower().startswith("attachment")


def _part_text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding
        data = None
    if not isinstance(data, bytes):
        return ""
    return decode_bytes(data[:_MAX_DECODE], part.get_content_charset())


def _clean(text: str) -> str:
    """Line ends made plain, control characters (but tab and newline) dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\n\t" or (c >= " " and c != "\x7f"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _address(msg: Message) -> str:
    found = [a for _, a in getaddresses([header_text(msg, "From")]) if "@" in a]
    return found[0][:320] if found else header_text(msg, "From")[:320]


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


class _TextOnly(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "table"})
    _SKIP = frozenset({"script", "style", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skipping += tag in self._SKIP
        if tag in self._BREAKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.skipping -= tag in self._SKIP and self.skipping > 0

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return "".join(parser.out)
