"""The alert page's approval and test-send actions: approve or send back a held alert (the
second person), send an unpublished alert to the test addresses again, send it for real after
a test, and the live list of the test addresses' arrivals. Thin: each calls one service."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anshin.alerts.approval import (
    alert_approve,
    alert_reject,
    alert_release,
    alert_test_send_again,
)
from anshin.alerts.models import Alert
from anshin.console.forms import RejectForm
from anshin.console.views import alert_page_extras
from anshin.core.audit import Actor
from anshin.delivery.canaries import alert_canary_rows, canaries_settled


@login_required
@permission_required("alerts.approve_alert", raise_exception=True)
@require_POST
def alert_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    try:  # PermissionDenied (the author themself) becomes the 403 page
        approved = alert_approve(actor=Actor.staff(request.user), alert=alert)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("console:alert", pk)
    if approved:
        messages.success(request, _("Approved: the alert is being sent."))
    else:
        messages.info(request, _("This alert was already decided; nothing was changed."))
    return redirect("console:alert", pk)


@login_required
@permission_required("alerts.approve_alert", raise_exception=True)
@require_POST
def alert_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("category"), pk=pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _alert_page(request, alert, form)
    rejected = alert_reject(
        actor=Actor.staff(request.user), alert=alert, reason=form.cleaned_data["reason"]
    )
    if rejected:
        messages.success(request, _("Sent back to its author. Nothing was sent."))
    else:
        messages.info(request, _("This alert was already decided; nothing was changed."))
    return redirect("console:alert", pk)


def _alert_page(request: HttpRequest, alert: Alert, form: RejectForm) -> HttpResponse:
    """The alert page again with the form's errors (status 400)."""
    context: dict[str, Any] = {"alert": alert, "delivery": None, "progress": None, "failures": []}
    context.update(alert_page_extras(request, alert, reject_form=form))
    return render(request, "console/alert.html", context, status=400)


@login_required
@permission_required("alerts.add_alert", raise_exception=True)
@require_POST
def alert_test_send_view(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    try:
        alert_test_send_again(actor=Actor.staff(request.user), alert=alert)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Sent to the test addresses only. Residents got nothing."))
    return redirect("console:alert", pk)


@login_required
@permission_required("alerts.add_alert", raise_exception=True)
@require_POST
def alert_release_view(request: HttpRequest, pk: int) -> HttpResponse:
    """After a test send: the real send (or the request for approval)."""
    alert = get_object_or_404(Alert, pk=pk)
    try:
        alert = alert_release(actor=Actor.staff(request.user), alert=alert)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("console:alert", pk)
    if alert.state == Alert.State.HELD:
        messages.success(
            request, _("Sent for approval. It goes out when another staff member approves it.")
        )
    return redirect("console:alert", pk)


@login_required
def alert_canaries(request: HttpRequest, pk: int) -> HttpResponse:
    """The test addresses' arrivals, refreshed by htmx until nothing more can change."""
    alert = get_object_or_404(Alert, pk=pk)
    rows = alert_canary_rows(alert)
    done = canaries_settled(alert, rows)
    context = {"alert": alert, "canary_rows": rows}
    # htmx stops polling on status 286.
    return render(request, "console/_canaries.html", context, status=286 if done else 200)
