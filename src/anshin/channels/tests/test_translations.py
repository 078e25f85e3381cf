"""The channels app's pages use its Japanese catalogue. (That every string it uses is
translated is checked for every app in anshin.core.tests.test_translations.)"""

from __future__ import annotations

from django.utils import translation

from anshin.channels.models import Post


def test_states_read_in_japanese_and_english() -> None:
    with translation.override("ja"):
        assert str(Post.State.RETRYING.label) == "再試行待ち"
    with translation.override("en"):
        assert str(Post.State.RETRYING.label) == "Will retry"
