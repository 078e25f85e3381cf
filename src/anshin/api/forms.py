from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from anshin.alerts.models import Category
from anshin.api.keys import NAME_MAX


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name of the integration"),
        max_length=NAME_MAX,
        help_text=_("For example: police mail relay, river level sensor."),
    )
    categories = forms.ModelMultipleChoiceField(
        queryset=Category.objects.filter(active=True),
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        label=_("Categories it may use"),
    )
    can_read = forms.BooleanField(
        label=_("Read alerts and delivery counts"), required=False, initial=True
    )
    can_send = forms.BooleanField(label=_("Publish alerts"), required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if not (data.get("can_read") or data.get("can_send")):
            raise forms.ValidationError(_("Allow reading, sending or both."))
        return data
