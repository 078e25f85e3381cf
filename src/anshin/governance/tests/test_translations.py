"""Governance's own Japanese catalogue is complete, compiled, and used by the certificate."""

from __future__ import annotations

from django.utils import translation

from anshin.governance.retention import ALL_KINDS
from anshin.governance.services import certificate_lines

CONTENT = {
    "serial": "20260501-000001",
    "city": "安心市",
    "kind": "delivery",
    "action": "deleted",
    "count": 12,
    "records_from": "2025-01-01T00:00:00+09:00",
    "records_to": "2025-03-01T00:00:00+09:00",
    "cutoff": "2025-03-27T03:00:00+09:00",
    "rule": {"setting": "ANSHIN_RETENTION_DELIVERY_DAYS", "days": 400},
    "purged_at": "2026-05-01T03:00:05+09:00",
    "backups_expire_on": "2026-05-31",
    "backup_retention_days": 30,
    "public_key_sha256": "abcd",
}


def test_every_kind_has_a_japanese_name() -> None:
    for kind in ALL_KINDS:
        with translation.override("ja"):
            japanese = str(kind.label)
        with translation.override("en"):
            assert japanese != str(kind.label)


def test_the_certificate_reads_in_japanese() -> None:
    with translation.override("ja"):
        lines = dict(certificate_lines(CONTENT))
    assert lines["件数"] == "12件"
    assert lines["対象データ"] == "配信記録（配信メール、登録者へのお知らせ、不達通知）"
    assert lines["削除の基準"] == (
        "保存期間400日（設定 ANSHIN_RETENTION_DELIVERY_DAYS）：2025-03-27 03:00より前の記録"
    )
    assert lines["記録の日時"] == "2025-01-01 00:00 – 2025-03-01 00:00"
    assert lines["バックアップ"].startswith("バックアップ内の複製は2026-05-31までに")
