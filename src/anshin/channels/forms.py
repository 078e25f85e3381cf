from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from anshin.alerts.models import Category
from anshin.channels.models import LABEL_MAX, URL_MAX, Channel

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

URL_HELP = _(
    "The Apprise URL with the account's credentials. Examples: "
    "twitter://ConsumerKey/ConsumerSecret/AccessToken/AccessSecret?mode=tweet, "
    "mastodons://AccessToken@mastodon.example, bsky://handle.bsky.social@AppPassword, "
    "line://ChannelAccessToken/GroupId, https://hooks.slack.com/services/T…/B…/…, "
    "jsons://host/path. It is stored encrypted and never shown again."
)


def _url_field(*, required: bool, help_text: StrOrPromise) -> forms.CharField:
    # A password input: the URL is never sent back to the browser, not even after an error.
    return forms.CharField(
        label=_("Apprise URL"),
        max_length=URL_MAX,
        required=required,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=help_text,
    )


class ChannelForm(forms.Form):
    category = forms.ModelChoiceField(
        queryset=Category.objects.filter(active=True), to_field_name="slug", label=_("Category")
    )
    kind = forms.ChoiceField(choices=Channel.Kind.choices, label=_("Service"))
    label = forms.CharField(
        label=_("Channel name"),
        max_length=LABEL_MAX,
        help_text=_("For example: the city's X account."),
    )
    url = _url_field(required=True, help_text=URL_HELP)
    enabled = forms.BooleanField(label=_("Post alerts to this channel"), required=False)


class ChannelEditForm(forms.Form):
    label = forms.CharField(label=_("Channel name"), max_length=LABEL_MAX)
    url = _url_field(
        required=False,
        help_text=_("Leave empty to keep the stored URL; a new one replaces it."),
    )
    enabled = forms.BooleanField(label=_("Post alerts to this channel"), required=False)
