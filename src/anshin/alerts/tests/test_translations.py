"""The alerts app's own Japanese catalogue is complete and compiled, and the archive uses it."""

from __future__ import annotations

from django.utils import translation

from anshin.alerts.models import CapMsgType, CapStatus, CapUrgency


def test_cap_labels_are_japanese_by_default() -> None:
    with translation.override("ja"):
        assert [str(CapStatus.EXERCISE.label), str(CapMsgType.CANCEL.label)] == ["訓練", "取消"]
        assert str(CapUrgency.IMMEDIATE.label) == "直ちに行動が必要"
    with translation.override("en"):
        assert str(CapStatus.EXERCISE.label) == "Exercise"
