"""Staff console: call-outs to staff (職員参集・安否確認) — compose with a live count of who
matches, send, the live board of replies, reminders and the CSV export.

Permissions (checked before anything is read or written; 403 otherwise):
``directory.send_callout`` composes, sends and reminds; ``directory.view_callout`` (or
send) opens the board, which shows names — every full view of it is audited;
``directory.export_callout`` downloads the result. The board and the count refresh through
htmx; without JavaScript the "count" button and a reload do the same.
"""

from __future__ import annotations

from typing import Any, Final

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anshin.core.audit import Actor
from anshin.directory import csvio
from anshin.directory.callouts import selection as sel
from anshin.directory.callouts import selectors
from anshin.directory.callouts.services import (
    ROLLCALL_CHOICES,
    SAFETY_CHOICES,
    CalloutRefused,
    board_viewed,
    callout_export,
    callout_remind,
    callout_send,
    draft_problems,
    replies_open,
)
from anshin.directory.forms import GROUPS, CalloutForm, selection_from_post
from anshin.directory.models_callout import Callout

PRESETS: Final = {"rollcall": ROLLCALL_CHOICES, "safety": SAFETY_CHOICES, "none": ()}


def _require(request: HttpRequest, *permissions: str) -> None:
    if not any(request.user.has_perm("directory." + p) for p in permissions):
        raise PermissionDenied


# --- list and compose -------------------------------------------------------------------------


@login_required
def callout_list(request: HttpRequest) -> HttpResponse:
    _require(request, "view_callout", "send_callout")
    context = {
        "callouts": selectors.callout_list(),
        "can_send": request.user.has_perm("directory.send_callout"),
    }
    return render(request, "console/callout_list.html", context)


@login_required
def callout_compose(request: HttpRequest) -> HttpResponse:
    _require(request, "send_callout")
    options = sel.attribute_options()
    if request.method != "POST":
        everyone = sel.matching_count([])
        return _compose_page(request, CalloutForm(), options, [[]] * GROUPS, count=everyone)
    data = request.POST.copy()
    preset = data.get("preset", "")
    if preset in PRESETS:
        data["choices"] = "\n".join(PRESETS[preset])
    form = CalloutForm(data)
    checked = [data.getlist(f"g{n}") for n in range(1, GROUPS + 1)]
    try:
        selection = selection_from_post(data, _terms(options))
    except sel.SelectionInvalid:
        return _compose_page(request, form, options, checked, [_("Choose the recipients again.")])
    if "send" not in data:
        return _compose_page(request, form, options, checked, count=sel.matching_count(selection))
    return _send(request, form, options, checked, selection)


def _send(
    request: HttpRequest,
    form: CalloutForm,
    options: list[sel.AttributeOptions],
    checked: list[list[str]],
    selection: sel.Selection,
) -> HttpResponse:
    if not form.is_valid():
        return _compose_page(request, form, options, checked, errors=True, status=400)
    draft = form.draft(selection)
    problems = draft_problems(draft, now=timezone.now())
    if not problems:
        try:
            callout = callout_send(draft=draft, actor=Actor.staff(request.user))
            return redirect("console:callout_board", callout.pk)
        except CalloutRefused as refused:
            problems = refused.messages
    count = sel.matching_count(selection)
    return _compose_page(request, form, options, checked, problems, count, errors=True, status=400)


def _terms(options: list[sel.AttributeOptions]) -> set[sel.Term]:
    return {(o.field, v) for o in options for v in o.values}


def _compose_page(
    request: HttpRequest,
    form: CalloutForm,
    options: list[sel.AttributeOptions],
    checked: list[list[str]],
    problems: list[str] | None = None,
    count: int | None = None,
    *,
    errors: bool = False,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "groups": _groups(options, checked),
        "problems": problems or [],
        "count": count,
        "show_errors": errors,
        "sms_configured": bool(settings.SMS_URL),
        "presets": {"rollcall": "／".join(ROLLCALL_CHOICES), "safety": "／".join(SAFETY_CHOICES)},
    }
    return render(request, "console/callout_compose.html", context, status=status)


def _groups(options: list[sel.AttributeOptions], checked: list[list[str]]) -> list[Any]:
    """Per group: per attribute, its values as checkboxes (the value is the term's JSON)."""
    groups = []
    for number, ticked in enumerate(checked, start=1):
        attributes = [
            {
                "label": option.label,
                "values": [
                    {
                        "json": sel.term_to_json((option.field, value)),
                        "value": value,
                        "id": f"g{number}-{a}-{v}",
                        "checked": sel.term_to_json((option.field, value)) in ticked,
                    }
                    for v, value in enumerate(option.values)
                ],
            }
            for a, option in enumerate(options)
        ]
        groups.append({"number": number, "name": f"g{number}", "attributes": attributes})
    return groups


@login_required
@require_POST
def callout_count(request: HttpRequest) -> HttpResponse:
    """The live count (htmx): how many active staff the ticked terms reach."""
    _require(request, "send_callout")
    try:
        selection = selection_from_post(request.POST, _terms(sel.attribute_options()))
        count: int | None = sel.matching_count(selection)
    except sel.SelectionInvalid:
        count = None
    return render(request, "console/callout_count.html", {"count": count})


# --- board, reminders, export ---------------------------------------------------------------


@login_required
def callout_board(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "view_callout", "send_callout")
    callout = get_object_or_404(Callout, pk=pk)
    context = _board_context(request, callout)
    if request.htmx:  # type: ignore[attr-defined]
        # htmx stops polling on 286: replies closed and nothing left to send.
        done = not context["open"] and context["board"].finished
        return render(
            request, "console/callout_board_live.html", context, status=286 if done else 200
        )
    board_viewed(callout=callout, actor=Actor.staff(request.user))
    return render(request, "console/callout_board.html", context)


def _board_context(request: HttpRequest, callout: Callout) -> dict[str, Any]:
    return {
        "callout": callout,
        "board": selectors.board(callout),
        "people": selectors.people(callout),
        "open": replies_open(callout),
        "reminders": list(callout.reminders.all()),
        "can_send": request.user.has_perm("directory.send_callout"),
        "can_export": request.user.has_perm("directory.export_callout"),
        "encodings": csvio.ENCODINGS,
        "refresh": settings.CALLOUT_BOARD_REFRESH_SECONDS,
    }


@login_required
@require_POST
def callout_remind_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "send_callout")
    callout = get_object_or_404(Callout, pk=pk)
    callout_remind(callout=callout, actor=Actor.staff(request.user))
    return redirect("console:callout_board", pk)


@login_required
@require_POST
def callout_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "export_callout")
    callout = get_object_or_404(Callout, pk=pk)
    encoding = request.POST.get("encoding", "utf-8")
    if encoding not in csvio.ENCODINGS:
        encoding = "utf-8"
    try:
        data = callout_export(callout=callout, actor=Actor.staff(request.user), encoding=encoding)
    except csvio.Unencodable:
        context = _board_context(request, callout)
        context["export_error"] = _(
            "Some names cannot be written in Shift_JIS (CP932). Download UTF-8 instead."
        )
        return render(request, "console/callout_board.html", context, status=400)
    charset = "utf-8" if encoding == "utf-8" else "shift_jis"
    response = HttpResponse(data, content_type=f"text/csv; charset={charset}")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="callout-{callout.pk}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
