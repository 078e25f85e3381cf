"""Forms of the governance console pages. Every field is bounded; dates are checked against
each other and against today (Asia/Tokyo)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anshin.core.addresses import InvalidAddress, normalize_address
from anshin.governance.council import MAX_DAYS
from anshin.governance.models import Incident

LOCAL = "%Y-%m-%dT%H:%M"


def _moment(label: Any, *, required: bool) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=[LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL),
    )


def _day(label: Any, *, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label, required=required, widget=forms.DateInput(attrs={"type": "date"})
    )


class DisclosureRequestForm(forms.Form):
    purpose = forms.CharField(label=_("Purpose"), max_length=2000, widget=forms.Textarea)
    recipient = forms.CharField(
        label=_("Recipient"),
        max_length=200,
        help_text=_("The organisation and office, e.g. 東村山警察署 生活安全課."),
    )
    legal_basis = forms.CharField(
        label=_("Legal basis"),
        max_length=200,
        help_text=_("e.g. 刑事訴訟法第197条第2項に基づく捜査関係事項照会"),
    )
    reference = forms.CharField(
        label=_("Document number"),
        max_length=100,
        required=False,
        help_text=_("The number of the written request (捜査照会書), if any."),
    )
    address = forms.CharField(
        label=_("E-mail address named in the request"),
        max_length=320,
        help_text=_(
            "Used once to look up the registration; it is not stored in the ledger, only its "
            "keyed code."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_address(self) -> str:
        try:
            return normalize_address(self.cleaned_data["address"])
        except InvalidAddress:
            raise forms.ValidationError(_("This is not an e-mail address.")) from None


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note on the decision"), max_length=500, required=False)


class ProvidedForm(forms.Form):
    provided_on = _day(_("Date handed over"))
    method = forms.CharField(
        label=_("How it was handed over"),
        max_length=200,
        help_text=_("e.g. handed in person on an encrypted USB stick; passphrase by telephone."),
    )

    def clean_provided_on(self) -> date:
        day: date = self.cleaned_data["provided_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        return day


class IncidentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Incident.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(label=_("What happened"), max_length=5000, widget=forms.Textarea)
    occurred_at = _moment(_("When it happened"), required=False)
    found_at = _moment(_("When it was found"), required=True)
    affected = forms.IntegerField(label=_("Persons affected"), min_value=0, max_value=10_000_000)
    malicious = forms.BooleanField(
        label=_("For a wrongful purpose (不正の目的): the final report is due in 60 days"),
        required=False,
    )
    cause = forms.CharField(
        label=_("Cause"), max_length=5000, required=False, widget=forms.Textarea
    )
    measures = forms.CharField(
        label=_("Measures"), max_length=5000, required=False, widget=forms.Textarea
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        found, occurred = data.get("found_at"), data.get("occurred_at")
        now = timezone.now()
        if found and found > now:
            self.add_error("found_at", _("The date cannot be in the future."))
        if found and occurred and occurred > found:
            self.add_error("occurred_at", _("It cannot have happened after it was found."))
        return data


class ReportTickForm(forms.Form):
    report = forms.ChoiceField(choices=[("prompt", "prompt"), ("final", "final")])
    on = _day(_("Reported on"), required=False)

    def clean_on(self) -> date | None:
        day: date | None = self.cleaned_data.get("on")
        if day and day > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        return day


class ReviewForm(forms.Form):
    close = forms.BooleanField(label=_("Close this entry"), required=False)


class NoticeForm(forms.Form):
    body_ja = forms.CharField(
        label=_("Notice (Japanese)"), max_length=20000, widget=forms.Textarea(attrs={"rows": 16})
    )
    body_en = forms.CharField(
        label=_("Notice (English)"), max_length=20000, widget=forms.Textarea(attrs={"rows": 16})
    )


class PeriodForm(forms.Form):
    start = _day(_("From"))
    end = _day(_("To"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError(_("The end of the period is before its start."))
        if start and end and (end - start).days > MAX_DAYS:
            raise forms.ValidationError(_("The period can be at most five years."))
        return data
