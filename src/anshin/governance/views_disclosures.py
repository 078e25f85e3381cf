"""Console pages of the disclosure ledger (P3) and the processors list. Thin: each view checks
the permission, parses a form and calls one service (which checks the permission again)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from anshin.core.audit import Actor
from anshin.governance import disclosures as ledger
from anshin.governance.forms import DecisionForm, DisclosureRequestForm, ProvidedForm
from anshin.governance.models import Disclosure
from anshin.governance.processors import processors
from anshin.governance.sealing import HEADER


def check(request: HttpRequest, permission: str) -> Actor:
    if not request.user.has_perm(permission):
        raise PermissionDenied
    return Actor.staff(request.user)


@login_required
def disclosure_list(request: HttpRequest) -> HttpResponse:
    """The ledger, and the form for a new request (POST)."""
    check(request, ledger.VIEW)
    form = DisclosureRequestForm(request.POST or None)
    if request.method == "POST":
        actor = check(request, ledger.REQUEST)
        if form.is_valid():
            data = form.cleaned_data
            disclosure = ledger.disclosure_request(actor=actor, **data)
            return redirect("governance_console:disclosure", disclosure.pk)
    rows = Disclosure.objects.select_related("requested_by", "decided_by", "provided_by")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context = {"page": page, "form": form}
    return render(
        request, "governance/disclosures.html", context, status=400 if form.errors else 200
    )


def _detail(
    request: HttpRequest, disclosure: Disclosure, status: int = 200, **extra: object
) -> HttpResponse:
    context = {
        "d": disclosure,
        "decision_form": extra.pop("decision_form", DecisionForm()),
        "provided_form": extra.pop("provided_form", ProvidedForm()),
        "own_request": disclosure.requested_by_id == request.user.pk,
        "header": HEADER.decode().strip(),
        **extra,
    }
    return render(request, "governance/disclosure.html", context, status=status)


@login_required
@require_GET
def disclosure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    check(request, ledger.VIEW)
    return _detail(request, get_object_or_404(Disclosure, pk=pk))


@login_required
@require_POST
def disclosure_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve (the response shows the passphrase, once) or reject."""
    actor = check(request, ledger.APPROVE)
    disclosure = get_object_or_404(Disclosure, pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _detail(request, disclosure, 400, decision_form=form)
    note = form.cleaned_data["note"]
    try:
        if request.POST.get("decision") == "approve":
            approved = ledger.disclosure_approve(actor=actor, disclosure=disclosure, note=note)
            response = _detail(request, approved.disclosure, passphrase=approved.passphrase)
            response["Cache-Control"] = "no-store"
            return response
        ledger.disclosure_reject(actor=actor, disclosure=disclosure, note=note)
    except ledger.DisclosureRefused as refused:
        return _detail(request, disclosure, 409, error=str(refused))
    return redirect("governance_console:disclosure", disclosure.pk)


@login_required
@require_GET
def disclosure_download(request: HttpRequest, pk: int) -> HttpResponse:
    actor = check(request, ledger.VIEW)
    disclosure = get_object_or_404(Disclosure, pk=pk)
    try:
        data = ledger.disclosure_file(actor=actor, disclosure=disclosure)
    except ledger.DisclosureRefused:
        raise PermissionDenied from None
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="disclosure-{disclosure.pk}.anshin"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def disclosure_provided(request: HttpRequest, pk: int) -> HttpResponse:
    actor = check(request, ledger.RECORD)
    disclosure = get_object_or_404(Disclosure, pk=pk)
    form = ProvidedForm(request.POST)
    if not form.is_valid():
        return _detail(request, disclosure, 400, provided_form=form)
    try:
        ledger.disclosure_record_provided(actor=actor, disclosure=disclosure, **form.cleaned_data)
    except ledger.DisclosureRefused as refused:
        return _detail(request, disclosure, 409, error=str(refused))
    return redirect("governance_console:disclosure", disclosure.pk)


@login_required
@require_GET
def processor_list(request: HttpRequest) -> HttpResponse:
    check(request, ledger.VIEW)
    return render(request, "governance/processors.html", {"processors": processors()})
