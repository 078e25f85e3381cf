"""The public reply page of a call-out: ``/r/<token>`` from a staff member's mail or SMS.

GET only shows the message and one button per choice; the answer is a POST, so a mail
scanner or link preview that fetches the link answers nothing. An unknown or malformed token
is the site's ordinary 404, which says nothing about tokens. The page is never cached, and
its URL (the staff member's key) goes to no other site as a Referer: "same-origin", because
"no-referrer" makes browsers post a null Origin, which Django's CSRF check refuses.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from anshin.directory.callouts.services import (
    ReplyRefused,
    callout_reply,
    recipient_for_token,
    replies_open,
)
from anshin.directory.models_callout import CalloutRecipient

_STATUS = {"closed": 410, "no_reply": 400, "bad_choice": 400}


@never_cache
@require_http_methods(["GET", "POST"])
def reply(request: HttpRequest, token: str) -> HttpResponse:
    recipient = recipient_for_token(token)
    if recipient is None:
        raise Http404
    status, saved, problem = 200, False, ""
    if request.method == "POST":
        try:
            recipient = callout_reply(recipient=recipient, choice=request.POST.get("choice", ""))
            saved = True
        except ReplyRefused as refused:
            status, problem = _STATUS[refused.code], refused.code
    response = render(
        request, "directory/reply.html", _context(recipient, saved, problem), status=status
    )
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _context(recipient: CalloutRecipient, saved: bool, problem: str) -> dict[str, Any]:
    callout = recipient.callout
    choice = recipient.choice
    return {
        "callout": callout,
        "choices": list(enumerate(callout.choices)),
        "current": choice,
        "current_label": callout.choices[choice] if choice is not None else "",
        "open": replies_open(callout),
        "deadline": timezone.localtime(callout.reply_deadline) if callout.reply_deadline else None,
        "saved": saved,
        "problem": problem,
    }
