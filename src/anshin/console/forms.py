from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from anshin.alerts.approval import clean_reason
from anshin.alerts.models import (
    BODY_MAX,
    REASON_MAX,
    SUBJECT_MAX,
    CapCertainty,
    CapSeverity,
    CapStatus,
    CapUrgency,
    Category,
)
from anshin.alerts.services import CapChoices, clean_body, clean_subject

# An empty choice means "the category's default", so the form needs no script to follow the
# chosen category; the preview shows the value that will be sent.
CATEGORY_DEFAULT = [("", _("Category default"))]


class ComposeForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(active=True),
        to_field_name="slug",
        label=_("Category"),
        empty_label=None,
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX * 4, strip=False)
    body = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 12}),
        max_length=BODY_MAX * 2,
        strip=False,
    )
    subject_en = forms.CharField(
        label=_("Subject in English"), max_length=SUBJECT_MAX * 4, strip=False, required=False
    )
    body_en = forms.CharField(
        label=_("Message in English"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=BODY_MAX * 2,
        strip=False,
        required=False,
    )
    status = forms.ChoiceField(
        label=_("Kind of message"),
        choices=CapStatus.choices,
        initial=CapStatus.ACTUAL,
        required=False,  # a form posted without it (older pages, scripts) sends an Actual alert
        help_text=_("Exercise and test messages are marked as such wherever they appear."),
    )
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=CATEGORY_DEFAULT + CapUrgency.choices, required=False
    )
    severity = forms.ChoiceField(
        label=_("Severity"), choices=CATEGORY_DEFAULT + CapSeverity.choices, required=False
    )
    certainty = forms.ChoiceField(
        label=_("Certainty"), choices=CATEGORY_DEFAULT + CapCertainty.choices, required=False
    )

    ENGLISH = ("subject_en", "body_en")
    CAP = ("status", "urgency", "severity", "certainty")

    def clean_subject(self) -> str:
        return clean_subject(self.cleaned_data["subject"])

    def clean_body(self) -> str:
        return clean_body(self.cleaned_data["body"])

    def clean(self) -> dict[str, Any]:
        """The English version is optional, but a half-written one is refused on the part
        that is missing."""
        data = super().clean() or {}
        if not data.get("subject_en", "").strip() and not data.get("body_en", "").strip():
            data["subject_en"] = data["body_en"] = ""
            return data
        for name, cleaner in (("subject_en", clean_subject), ("body_en", clean_body)):
            if name in self.errors:
                continue
            try:
                data[name] = cleaner(data.get(name, ""))
            except forms.ValidationError as error:
                self.add_error(name, error)
        return data

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("category", "subject", "body")]

    def english_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ENGLISH]

    def cap_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.CAP]

    def cap_choices(self) -> CapChoices:
        data = self.cleaned_data
        return CapChoices(
            status=data["status"] or CapStatus.ACTUAL,
            urgency=data["urgency"] or None,
            severity=data["severity"] or None,
            certainty=data["certainty"] or None,
        )


class RejectForm(forms.Form):
    """Why a held alert is sent back to its author (required)."""

    reason = forms.CharField(
        label=_("Reason for sending it back"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=REASON_MAX * 2,  # the service's own limit gives the clearer message
        strip=False,
    )

    def clean_reason(self) -> str:
        return clean_reason(self.cleaned_data["reason"])


class CanaryForm(forms.Form):
    """A test address (a test phone's mail address) and what it is, for the list."""

    address = forms.CharField(label=_("Test address"), max_length=320)
    label = forms.CharField(
        label=_("Label (e.g. the carrier of the test phone)"),
        max_length=120,
        required=False,
    )
