from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from anshin.alerts.models import Category
from anshin.core.addresses import InvalidAddress, normalize_address

ADDRESS_ERRORS = {
    "empty": _("Enter your e-mail address."),
    "too_long": _("This e-mail address is too long."),
    "no_at": _("An e-mail address needs an @, as in taro@example.jp."),
    "control_chars": _("Remove spaces and line breaks from the e-mail address."),
    "quoted": _("Addresses with quotation marks are not supported."),
    "ip_literal": _("Enter an address with a domain name, not an IP address."),
    "domain": _("The part after @ is not a valid domain."),
    "local_part": _("The part before @ contains characters that cannot be used."),
}


class CategoryChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: Category) -> str:
        return obj.name


class CategoriesForm(forms.Form):
    categories = CategoryChoiceField(
        queryset=Category.objects.filter(active=True),
        # Slugs as values: readable, and no integer overflow on hostile input.
        to_field_name="slug",
        label=_("Information you want to receive"),
        error_messages={"required": _("Choose at least one kind of information.")},
    )


class SubscribeForm(CategoriesForm):
    email = forms.CharField(
        label=_("E-mail address"),
        max_length=320,
        widget=forms.EmailInput(
            attrs={
                "autocomplete": "email",
                "inputmode": "email",
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
    )
    notice_version = forms.IntegerField(
        required=False, min_value=1, max_value=1_000_000, widget=forms.HiddenInput
    )
    field_order = ["email", "categories"]

    def clean_email(self) -> str:
        raw = self.cleaned_data["email"]
        try:
            normalize_address(raw)
        except InvalidAddress as exc:
            raise forms.ValidationError(
                ADDRESS_ERRORS.get(exc.code, ADDRESS_ERRORS["domain"]), code=exc.code
            ) from None
        return raw
