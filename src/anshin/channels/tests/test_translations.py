"""The channels app's Japanese catalogue is complete and compiled, and its pages use it."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

from anshin.channels.models import Post

LC = Path(__file__).resolve().parents[1] / "locale" / "ja" / "LC_MESSAGES"


def test_every_string_of_the_app_is_in_the_catalogue() -> None:
    po = (LC / "django.po").read_text(encoding="utf-8")
    msgids = set(re.findall(r'^msgid "(.+)"$', po, flags=re.M))
    app = LC.parents[2]
    used: set[str] = set()
    for path in app.rglob("*.py"):
        if "tests" not in path.parts and "migrations" not in path.parts:
            used.update(re.findall(r'_\(\s*"([^"]+)"\s*\)', path.read_text(encoding="utf-8")))
    for path in app.rglob("*.html"):
        used.update(re.findall(r'{% translate "([^"]+)" %}', path.read_text(encoding="utf-8")))
    assert sorted(used - msgids) == []


def test_states_read_in_japanese_and_english() -> None:
    with translation.override("ja"):
        assert str(Post.State.RETRYING.label) == "再試行待ち"
    with translation.override("en"):
        assert str(Post.State.RETRYING.label) == "Will retry"
