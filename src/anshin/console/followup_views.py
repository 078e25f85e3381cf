"""Console follow-ups of a published alert: an update (続報) or a cancellation (取消) that goes
to the same category (so the same subscribers and social channels), marked as such in the
mail subject, the public page, the feeds and CAP (msgType Update/Cancel with <references>).
Compose, preview exactly as sent, send: thin, one service."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from anshin.alerts.approval import alert_submit
from anshin.alerts.models import Alert, CapMsgType
from anshin.console.followup_forms import FollowUpForm, followup_initial
from anshin.console.views import alert_preview
from anshin.core.audit import Actor

KINDS = {"update": CapMsgType.UPDATE, "cancel": CapMsgType.CANCEL}


@login_required
@permission_required("alerts.add_alert", raise_exception=True)
def followup_compose(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    msg_type = KINDS.get(kind)
    if msg_type is None:
        raise Http404
    original = get_object_or_404(Alert.objects.select_related("category"), pk=pk)
    context: dict[str, Any] = {"original": original, "kind": kind, "msg_type": msg_type}
    if original.published_at is None:
        return render(request, "console/followup_refused.html", context, status=400)
    form = FollowUpForm(
        request.POST or None,
        initial=followup_initial(original, msg_type),
        original=original,
        msg_type=msg_type,
    )
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        if "send" not in request.POST:
            context["preview"] = _preview(form)
            return render(request, "console/followup_preview.html", context)
        try:
            alert = _send(request, form)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("console:alert", alert.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "console/followup_compose.html", context, status=status)


def _send(request: HttpRequest, form: FollowUpForm) -> Alert:
    data = form.cleaned_data
    return alert_submit(
        actor=Actor.staff(request.user),
        category=data["category"],
        subject=data["subject"],
        body=data["body"],
        via=Alert.Via.CONSOLE,
        cap=form.cap_choices(),
        subject_en=data["subject_en"],
        body_en=data["body_en"],
    )


def _preview(form: FollowUpForm) -> dict[str, Any]:
    return alert_preview(form.cleaned_data, form.cap_choices())
