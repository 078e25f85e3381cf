"""Test addresses (canaries, P6): the administrators' list (masked), add and remove; and the
public confirm page a test phone's mail links to (a button, so a mail scanner fetching the
link confirms nothing). Thin: each view calls one service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anshin.console.forms import CanaryForm
from anshin.core.audit import Actor
from anshin.delivery.canaries import (
    CanaryTokenError,
    active_canaries,
    canary_add,
    canary_confirm,
    canary_message_for_token,
    canary_remove,
)
from anshin.delivery.models import Canary


@permission_required("delivery.view_canary", raise_exception=True)
def canaries(request: HttpRequest) -> HttpResponse:
    form = CanaryForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("delivery.add_canary"):
            raise PermissionDenied
        if form.is_valid():
            try:
                canary_add(
                    actor=Actor.staff(request.user),
                    address=form.cleaned_data["address"],
                    label=form.cleaned_data["label"],
                )
            except ValidationError as exc:
                form.add_error("address", exc)
            else:
                messages.success(request, _("The test address was added."))
                return redirect("console:canaries")
    status = 400 if form.errors else 200
    context = {"form": form, "canaries": list(active_canaries())}
    return render(request, "console/canaries.html", context, status=status)


@permission_required("delivery.delete_canary", raise_exception=True)
@require_POST
def canary_remove_view(request: HttpRequest, pk: int) -> HttpResponse:
    canary = get_object_or_404(Canary, pk=pk)
    if canary_remove(actor=Actor.staff(request.user), canary=canary):
        messages.success(request, _("The test address was removed."))
    return redirect("console:canaries")


def canary_confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """No sign-in: the person holding the test phone opens it from the mail."""
    try:
        row = (
            canary_confirm(token=token)
            if request.method == "POST"
            else canary_message_for_token(token)
        )
    except CanaryTokenError:
        return render(request, "console/canary_confirm.html", {"invalid": True}, status=404)
    return render(request, "console/canary_confirm.html", {"row": row})
