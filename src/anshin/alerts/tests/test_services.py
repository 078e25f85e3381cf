"""alert_publish with CAP values and an English version: category defaults, validation of
follow-ups, the audit row; and what clean_subject/clean_body refuse."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from anshin.alerts.models import Alert, CapMsgType, CapStatus, Category
from anshin.alerts.services import CapChoices, alert_publish, clean_body, clean_subject
from anshin.core.audit import OPERATOR
from anshin.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def publish(category: Category, **kwargs: Any) -> Alert:
    return alert_publish(
        actor=OPERATOR,
        category=category,
        subject=kwargs.pop("subject", "避難所を開設しました"),
        body=kwargs.pop("body", "第一小学校"),
        via=Alert.Via.CLI,
        **kwargs,
    )


def test_existing_callers_get_the_category_defaults(cap_categories: dict[str, Category]) -> None:
    alert = publish(cap_categories["bousai"])
    assert (alert.status, alert.msg_type, alert.references) == ("Actual", "Alert", None)
    assert (alert.cap_categories, alert.urgency, alert.severity, alert.certainty) == (
        "Met Geo Safety",
        "Immediate",
        "Severe",
        "Likely",
    )
    assert (alert.subject_en, alert.body_en) == ("", "")
    fraud = publish(cap_categories["bouhan"])
    assert (fraud.cap_categories, fraud.urgency, fraud.severity, fraud.certainty) == (
        "Security",
        "Expected",
        "Moderate",
        "Possible",
    )


def test_staff_choices_override_the_defaults(cap_categories: dict[str, Category]) -> None:
    cap = CapChoices(status=CapStatus.EXERCISE, urgency="Future", severity="Minor")
    alert = publish(cap_categories["bousai"], cap=cap, subject_en=" Drill ", body_en="A drill.\n")
    assert (alert.status, alert.urgency, alert.severity, alert.certainty) == (
        "Exercise",
        "Future",
        "Minor",
        "Likely",
    )
    assert (alert.subject_en, alert.body_en) == ("Drill", "A drill.")
    event = AuditEvent.objects.get(action="alert.publish")
    assert event.details == {"category": "bousai", "via": "cli", "status": "Exercise"}


def test_a_category_default_change_does_not_rewrite_sent_alerts(
    cap_categories: dict[str, Category],
) -> None:
    category = cap_categories["bouhan"]
    alert = publish(category)
    Category.objects.filter(pk=category.pk).update(cap_urgency="Immediate")
    alert.refresh_from_db()
    assert alert.urgency == "Expected"


@pytest.mark.parametrize(
    ("subject_en", "body_en"),
    [("Shelters", ""), ("", "Body only"), ("  ", "Body"), ("Bad\nsubject", "Body")],
)
def test_half_or_bad_english_version_is_refused(
    cap_categories: dict[str, Category], subject_en: str, body_en: str
) -> None:
    with pytest.raises(ValidationError):
        publish(cap_categories["bousai"], subject_en=subject_en, body_en=body_en)
    assert Alert.objects.count() == 0 and AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    "cap",
    [
        CapChoices(status="Actual "),
        CapChoices(status="System"),
        CapChoices(urgency="Now"),
        CapChoices(severity="<script>"),
        CapChoices(certainty="likely"),
        CapChoices(msg_type="Ack"),
        CapChoices(msg_type=CapMsgType.UPDATE),  # an update without its original
    ],
)
def test_unknown_cap_values_are_refused(
    cap_categories: dict[str, Category], cap: CapChoices
) -> None:
    with pytest.raises(ValidationError):
        publish(cap_categories["bousai"], cap=cap)
    assert Alert.objects.count() == 0


def test_update_and_cancel_reference_their_original(cap_categories: dict[str, Category]) -> None:
    original = publish(cap_categories["bousai"])
    update = publish(
        cap_categories["bousai"], cap=CapChoices(msg_type="Update", references=original)
    )
    cancel = publish(
        cap_categories["bousai"], cap=CapChoices(msg_type="Cancel", references=original)
    )
    assert update.references == original and cancel.references == original
    assert list(original.follow_ups.order_by("pk")) == [update, cancel]
    details = [e.details for e in AuditEvent.objects.filter(action="alert.publish").order_by("pk")]
    assert details == [
        {"category": "bousai", "via": "cli"},
        {"category": "bousai", "via": "cli", "msg_type": "Update", "references": original.pk},
        {"category": "bousai", "via": "cli", "msg_type": "Cancel", "references": original.pk},
    ]


def test_follow_up_must_match_the_original(cap_categories: dict[str, Category]) -> None:
    original = publish(cap_categories["bousai"])
    with pytest.raises(ValidationError):  # a new alert that claims an original
        publish(cap_categories["bousai"], cap=CapChoices(references=original))
    with pytest.raises(ValidationError):  # another category: another audience
        publish(cap_categories["bouhan"], cap=CapChoices(msg_type="Update", references=original))
    unpublished = Alert.objects.create(
        category=cap_categories["bousai"], subject="下書き", body="x", created_via="cli"
    )
    with pytest.raises(ValidationError):
        publish(cap_categories["bousai"], cap=CapChoices(msg_type="Cancel", references=unpublished))
    assert Alert.objects.count() == 2


@pytest.mark.parametrize("bad", ["\ufffe", "\uffff", "\ufdd0", "\U0001fffe"])
def test_characters_xml_cannot_carry_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        clean_subject("件名" + bad)
    with pytest.raises(ValidationError):
        clean_body("本文" + bad)


def test_ordinary_japanese_and_emoji_pass() -> None:
    assert clean_subject("【避難指示】🏃 避難してください") == "【避難指示】🏃 避難してください"
    assert clean_body("一行目\n\t二行目 〜") == "一行目\n\t二行目 〜"
