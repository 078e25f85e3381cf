"""`anshin alert publish` with the optional CAP and English flags (existing calls unchanged)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from anshin.alerts.models import Alert, Category

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("alert", *args, stdout=out)
    return out.getvalue().strip()


def test_plain_publish_keeps_working_with_category_defaults(
    cap_categories: dict[str, Category],
) -> None:
    pk = run("publish", "--category", "bouhan", "--subject", "不審者情報", "--body", "本文")
    alert = Alert.objects.get(pk=int(pk))
    assert (alert.status, alert.msg_type, alert.urgency, alert.subject_en) == (
        "Actual",
        "Alert",
        "Expected",
        "",
    )


def test_cap_and_english_flags(cap_categories: dict[str, Category], tmp_path: Path) -> None:
    english = tmp_path / "en.txt"
    english.write_text("Evacuate now.\n", encoding="utf-8")
    original = run("publish", "--category", "bousai", "--subject", "避難指示", "--body", "本文")
    pk = run(
        "publish",
        "--category=bousai",
        "--subject=避難指示（訓練）",
        "--body=本文",
        "--status=Exercise",
        "--urgency=Expected",
        "--severity=Extreme",
        "--certainty=Observed",
        "--msg-type=Update",
        f"--references={original}",
        "--english-subject=Evacuation order (drill)",
        f"--english-body-file={english}",
    )
    alert = Alert.objects.get(pk=int(pk))
    assert (alert.status, alert.urgency, alert.severity, alert.certainty) == (
        "Exercise",
        "Expected",
        "Extreme",
        "Observed",
    )
    assert alert.msg_type == "Update" and alert.references_id == int(original)
    assert (alert.subject_en, alert.body_en) == ("Evacuation order (drill)", "Evacuate now.")


@pytest.mark.parametrize(
    "extra",
    [
        ["--references=999999", "--msg-type=Update"],
        ["--msg-type=Cancel"],
        ["--english-subject=Only a subject"],
        ["--english-body-file=/nonexistent/en.txt", "--english-subject=x"],
    ],
)
def test_bad_flags_exit_with_a_message_and_publish_nothing(
    cap_categories: dict[str, Category], extra: list[str]
) -> None:
    with pytest.raises(CommandError):
        run("publish", "--category=bousai", "--subject=件名", "--body=本文", *extra)
    assert Alert.objects.count() == 0


def test_unknown_status_is_refused_by_the_parser(cap_categories: dict[str, Category]) -> None:
    with pytest.raises(CommandError):
        run("publish", "--category=bousai", "--subject=件名", "--body=本文", "--status=Draft")
    assert Alert.objects.count() == 0
