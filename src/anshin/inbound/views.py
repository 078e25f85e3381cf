"""Console pages for inbound mail: intake drafts (review, use as alert, discard) and the
registration QR codes and flyer. Thin: each view calls one service or selector."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from anshin.console.forms import ComposeForm
from anshin.core.audit import Actor
from anshin.core.masking import mask_email
from anshin.inbound import flyer, selectors, services
from anshin.inbound.models import IntakeDraft

_STATES = {s.value for s in IntakeDraft.State}


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm("inbound." + permission):
        raise PermissionDenied


@login_required
@require_GET
def drafts(request: HttpRequest) -> HttpResponse:
    _require(request, "view_intakedraft")
    state = request.GET.get("state", IntakeDraft.State.NEW)
    state = state if state in _STATES else IntakeDraft.State.NEW
    page = Paginator(selectors.intake_drafts(state=state), 30).get_page(request.GET.get("page"))
    rows = [(d, mask_email(d.source_from), mask_email(d.forwarded_by)) for d in page]
    context = {"page": page, "rows": rows, "state": state, "states": IntakeDraft.State.choices}
    return render(request, "inbound/drafts.html", context)


@login_required
@require_GET
def draft_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "view_intakedraft")
    draft = get_object_or_404(IntakeDraft, pk=pk)
    can_decide = request.user.has_perm("inbound.change_intakedraft")
    return render(request, "inbound/draft.html", {"draft": draft, "can_decide": can_decide})


@login_required
@require_POST
def draft_use(request: HttpRequest, pk: int) -> HttpResponse:
    """The compose form, filled from the draft; it posts to the ordinary compose view."""
    _require(request, "change_intakedraft")
    draft = get_object_or_404(IntakeDraft, pk=pk)
    try:
        initial = services.intake_draft_use(draft=draft, actor=Actor.staff(request.user))
    except IntakeDraft.DoesNotExist:
        return redirect("inbound_console:draft", draft.pk)
    form = ComposeForm(initial=initial)
    return render(request, "inbound/compose_from_draft.html", {"form": form, "draft": draft})


@login_required
@require_POST
def draft_discard(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "change_intakedraft")
    draft = get_object_or_404(IntakeDraft, pk=pk)
    services.intake_draft_discard(draft=draft, actor=Actor.staff(request.user))
    return redirect("inbound_console:drafts")


@login_required
@require_GET
def registration_codes(request: HttpRequest) -> HttpResponse:
    context = {
        "address": flyer.registration_address(),
        "subscribe_url": flyer.subscribe_url(),
        "mailto_svg": flyer.qr_svg(flyer.registration_mailto()),
        "url_svg": flyer.qr_svg(flyer.subscribe_url()),
    }
    return render(request, "inbound/codes.html", context)


@login_required
@require_GET
def flyer_download(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(flyer.flyer_pdf(), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="anshin-registration-flyer.pdf"'
    return response
