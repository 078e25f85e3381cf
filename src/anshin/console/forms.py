from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from anshin.alerts.models import BODY_MAX, SUBJECT_MAX, Category
from anshin.alerts.services import clean_body, clean_subject


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

    def clean_subject(self) -> str:
        return clean_subject(self.cleaned_data["subject"])

    def clean_body(self) -> str:
        return clean_body(self.cleaned_data["body"])
