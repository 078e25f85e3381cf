"""The call-out compose form. The recipient selection is read from the checkbox groups
``g1``…``gN`` beside it (see :func:`selection_from_post`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anshin.directory.callouts import selection as sel
from anshin.directory.callouts.services import CalloutDraft, default_deadline
from anshin.directory.models_callout import BODY_MAX, CHOICE_MAX, CHOICES_MAX, SUBJECT_MAX

GROUPS: Final = 3
CHOICES_TEXT_MAX: Final = CHOICES_MAX * (CHOICE_MAX + 2)
_LOCAL: Final = "%Y-%m-%dT%H:%M"


class CalloutForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_MAX)
    body = forms.CharField(label=_("Message"), max_length=BODY_MAX, widget=forms.Textarea)
    choices = forms.CharField(
        label=_("Reply choices (one per line; leave empty to ask for no reply)"),
        max_length=CHOICES_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    reply_deadline = forms.DateTimeField(
        label=_("Reply deadline"),
        required=False,
        input_formats=[_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL),
    )
    reminder_after_minutes = forms.IntegerField(
        label=_("Remind those who have not answered after (minutes; empty: no automatic reminder)"),
        required=False,
        min_value=1,
        max_value=1440,
    )
    send_email = forms.BooleanField(label=_("E-mail"), required=False, initial=True)
    send_sms = forms.BooleanField(label=_("SMS (staff with a phone number)"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "reply_deadline": timezone.localtime(default_deadline()).strftime(_LOCAL),
                "send_email": True,
            },
        )
        super().__init__(*args, **kwargs)

    def draft(self, selection: sel.Selection) -> CalloutDraft:
        data = self.cleaned_data
        deadline: datetime | None = data.get("reply_deadline")
        return CalloutDraft(
            subject=data["subject"],
            body=data["body"],
            selection=selection,
            choices=choice_lines(data.get("choices") or ""),
            send_email=bool(data.get("send_email")),
            send_sms=bool(data.get("send_sms")),
            reply_deadline=deadline,
            reminder_after_minutes=data.get("reminder_after_minutes"),
        )


def choice_lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def selection_from_post(data: QueryDict, allowed: set[sel.Term]) -> sel.Selection:
    """The AND-ed groups of checked terms; raises SelectionInvalid for anything malformed or
    not offered (a value no active staff member has)."""
    groups = []
    for number in range(1, GROUPS + 1):
        values = data.getlist(f"g{number}")
        if len(values) > sel.MAX_TERMS:
            raise sel.SelectionInvalid("too many terms")
        terms = [sel.term_from_json(value) for value in values]
        if any(term not in allowed for term in terms):
            raise sel.SelectionInvalid("not offered")
        groups.append([list(term) for term in terms])
    return sel.selection_clean(groups)
