"""The takedown form (個人情報の削除): the corrected text of an alert and the reason. Bounded
fields, checked by the same rules as compose, so the corrected alert stays publishable."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from anshin.alerts.models import BODY_MAX, SUBJECT_MAX, Alert
from anshin.alerts.services import clean_body, clean_subject
from anshin.alerts.takedown import clean_reason
from anshin.governance.models import TAKEDOWN_REASON_MAX


class TakedownForm(forms.Form):
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
    reason = forms.CharField(
        label=_("Reason for the takedown"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=TAKEDOWN_REASON_MAX * 2,
        strip=False,
        help_text=_(
            "e.g. 行方不明者が発見されたため. Do not repeat the removed details here: the reason "
            "is kept in the record."
        ),
    )

    ENGLISH = ("subject_en", "body_en")

    def __init__(self, *args: Any, alert: Alert, **kwargs: Any) -> None:
        """The English fields only when the alert has an English version to correct."""
        kwargs.setdefault(
            "initial", {name: getattr(alert, name) for name in ("subject", "body", *self.ENGLISH)}
        )
        super().__init__(*args, **kwargs)
        self.has_english = bool(alert.subject_en or alert.body_en)
        if not self.has_english:
            for name in self.ENGLISH:
                del self.fields[name]

    def clean_subject(self) -> str:
        return clean_subject(self.cleaned_data["subject"])

    def clean_body(self) -> str:
        return clean_body(self.cleaned_data["body"])

    def clean_reason(self) -> str:
        return clean_reason(self.cleaned_data["reason"])

    def clean(self) -> dict[str, Any]:
        """Both English parts or neither, as in compose: a half-cleared one is refused."""
        data = super().clean() or {}
        if not self.has_english:
            return data
        subject_en, body_en = data.get("subject_en", ""), data.get("body_en", "")
        if not subject_en.strip() and not body_en.strip():
            data["subject_en"] = data["body_en"] = ""
            return data
        for name, cleaner in (("subject_en", clean_subject), ("body_en", clean_body)):
            if name not in self.errors:
                try:
                    data[name] = cleaner(data.get(name, ""))
                except forms.ValidationError as error:
                    self.add_error(name, error)
        return data

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("subject", "body")]

    def english_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ENGLISH if name in self.fields]
