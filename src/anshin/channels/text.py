"""What each network shows of an alert: a summary cut to the network's limit, then the link.

Every network counts differently:

- X: twitter-text weighting. Code points in 0–4351, 8192–8205, 8208–8223 and 8242–8247 weigh
  1, every other one 2 (most Japanese characters), and every URL 23, of 280.
- Mastodon: 500 code points, every URL 23.
- Bluesky: 300 graphemes (user-perceived characters), and at most 3000 bytes of UTF-8.
- LINE (5000 UTF-16 units), Slack and webhooks: far more than an alert can hold.

A post is the marks (【訓練】/【テスト】, as in the mail subject), the subject and the body, then
the link to the alert's public page on its own line. When that is too long the subject and
body are cut at a grapheme boundary (never inside a combining sequence, an emoji or a URL of
the body) and end in "…"; the link is never cut.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from wcwidth import iter_graphemes

from anshin.delivery.render import SUBJECT_MARKS

ELLIPSIS = "…"
URL_WEIGHT = 23
# http(s) URLs as the networks find them: ASCII only, without the punctuation that usually
# ends a sentence right after a URL (X and Mastodon leave it out of the link too).
URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+(?<![.,:;!?'\")\]])")
# A bare domain ("example.com/x"): X links it and counts 23, so it weighs at least that.
BARE_DOMAIN = re.compile(r"(?<![\w@./:-])(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?:/[!-~]*)?")
_UNCUTTABLE = re.compile(f"{URL.pattern}|{BARE_DOMAIN.pattern}")
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def _x_char_weight(char: str) -> int:
    code = ord(char)
    return 1 if any(low <= code <= high for low, high in _LIGHT) else 2


def x_weight(text: str) -> int:
    """The length X counts (twitter-text weighting: URLs 23, most CJK characters 2)."""
    total = 0
    for part, is_url in _split_urls(text):
        if is_url:
            total += URL_WEIGHT
            continue
        total += sum(_x_char_weight(c) for c in part)
        total += sum(max(0, URL_WEIGHT - len(m.group())) for m in BARE_DOMAIN.finditer(part))
    return total


def mastodon_length(text: str) -> int:
    return sum(URL_WEIGHT if is_url else len(part) for part, is_url in _split_urls(text))


def grapheme_count(text: str) -> int:
    return sum(1 for _ in iter_graphemes(text))


def bluesky_length(text: str) -> int:
    """Graphemes, unless the UTF-8 size is the tighter limit (3000 bytes for 300 graphemes):
    ten-character emoji sequences are one grapheme each."""
    return max(grapheme_count(text), -(-len(text.encode()) // 10))


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Limit:
    measure: Callable[[str], int]
    maximum: int


LIMITS: dict[str, Limit] = {
    "twitter": Limit(x_weight, 280),
    "mastodon": Limit(mastodon_length, 500),
    "bluesky": Limit(bluesky_length, 300),
    "line": Limit(utf16_length, 5000),
    "slack": Limit(len, 35000),
    "webhook": Limit(len, 35000),
}


def post_text(*, kind: str, subject: str, body: str, marks: str, link: str) -> str:
    """The text posted to a network of `kind`: within its limit, the link whole at the end."""
    limit = LIMITS[kind]
    summary = _summary(marks + subject, body)
    full = f"{summary}\n{link}"
    if limit.measure(full) <= limit.maximum:
        return full
    return _shortened(summary, link, limit)


def alert_marks(*, status: str, msg_type: str) -> str:
    """【訓練】/【テスト】 for drills and tests, 【続報】/【取消】 for follow-ups: as in the mail
    subject."""
    return SUBJECT_MARKS.get(status, "") + SUBJECT_MARKS.get(msg_type, "")


def _summary(head: str, body: str) -> str:
    """Subject and body without blank lines (each line costs a character on every network)."""
    lines = [line.strip() for line in body.splitlines()]
    return "\n".join([head.strip(), *(line for line in lines if line)])


def _shortened(summary: str, link: str, limit: Limit) -> str:
    """The longest cut of the summary that fits with "…" and the link (a binary search with
    the network's own measure, so the result is exact). Every atom counts at least 1, so no
    more than `maximum` atoms can ever fit: a 10,000-character body costs no more than a
    short one."""
    atoms = list(itertools.islice(_atoms(summary), limit.maximum + 1))
    low, high = 0, len(atoms)
    while low < high:
        middle = (low + high + 1) // 2
        if limit.measure(_cut(atoms, middle, link)) <= limit.maximum:
            low = middle
        else:
            high = middle - 1
    return _cut(atoms, low, link) if low else link


def _cut(atoms: list[str], keep: int, link: str) -> str:
    return "".join(atoms[:keep]).rstrip() + f"{ELLIPSIS}\n{link}"


def _atoms(text: str) -> Iterator[str]:
    """The places a summary may be cut between: graphemes, and whole URLs and domains."""
    position = 0
    for match in _UNCUTTABLE.finditer(text):
        yield from iter_graphemes(text[position : match.start()])
        yield match.group()
        position = match.end()
    yield from iter_graphemes(text[position:])


def _split_urls(text: str) -> Iterator[tuple[str, bool]]:
    position = 0
    for match in URL.finditer(text):
        if match.start() > position:
            yield text[position : match.start()], False
        yield match.group(), True
        position = match.end()
    if position < len(text):
        yield text[position:], False
