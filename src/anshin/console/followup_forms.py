"""The compose form for a follow-up (続報) or cancellation (取消) of a published alert: the
same fields as compose, the category fixed to the original's, prefilled from it."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from anshin.alerts.models import Alert, CapMsgType, CapUrgency, Category
from anshin.alerts.services import CapChoices
from anshin.console.forms import ComposeForm


class FollowUpForm(ComposeForm):
    """The category is not offered: it is the original's, posted as a hidden field and
    refused if it is any other (a tampered or stale page)."""

    def __init__(self, *args: Any, original: Alert, msg_type: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.original = original
        self.msg_type = msg_type
        # Every category, so a wrong one gets the clear error below, not "invalid choice";
        # an original whose category was retired is refused by alert_publish.
        field = self.fields["category"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Category.objects.all()

    def clean_category(self) -> Category:
        category = self.cleaned_data["category"]
        if category != self.original.category:
            raise forms.ValidationError(
                _("An update or cancellation goes to the category of the original (%(name)s)."),
                params={"name": self.original.category.name},
                code="references",
            )
        return category

    def main_fields(self) -> list[forms.BoundField]:
        return [self["subject"], self["body"]]

    def cap_choices(self) -> CapChoices:
        return dataclasses.replace(
            super().cap_choices(), msg_type=self.msg_type, references=self.original
        )


def followup_initial(original: Alert, msg_type: str) -> dict[str, Any]:
    """The original's subject (the mail adds 【続報】/【取消】 itself) and CAP values; for a
    cancellation, a sentence naming the date and category of the original (not its text,
    which may hold the details a later takedown removes) and the urgency "Past"."""
    initial: dict[str, Any] = {
        "category": original.category.slug,
        "subject": original.subject,
        "subject_en": original.subject_en,
        "status": original.status,
        "urgency": original.urgency,
        "severity": original.severity,
        "certainty": original.certainty,
    }
    if msg_type == CapMsgType.CANCEL:
        initial["urgency"] = CapUrgency.PAST
        initial["body"] = cancel_sentence(original, "ja")
        initial["body_en"] = cancel_sentence(original, "en") if original.subject_en else ""
    return initial


def cancel_sentence(original: Alert, language: str) -> str:
    assert original.published_at is not None
    sent = timezone.localtime(original.published_at)
    with translation.override(language):
        return gettext("The %(category)s alert sent on %(date)s is cancelled.") % {
            "category": original.category.name,
            "date": _date(sent, language),
        }


def _date(moment: datetime, language: str) -> str:
    if language == "ja":
        return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"
    return f"{moment:%Y-%m-%d %H:%M}"
