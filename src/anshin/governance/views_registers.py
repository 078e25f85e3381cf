"""Console pages: the governance hub, the incident register (S12) and the privacy notice
versions (S5). Thin: permission, form, one service."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from anshin.governance import disclosures as ledger
from anshin.governance import incidents as register
from anshin.governance import notices
from anshin.governance.forms import IncidentForm, NoticeForm, ReportTickForm, ReviewForm
from anshin.governance.models import Disclosure, Incident
from anshin.governance.views_disclosures import check
from anshin.residents.models import PrivacyNotice


@login_required
@require_GET
def hub(request: HttpRequest) -> HttpResponse:
    """The governance index: links the user may follow, and what waits for someone."""
    user = request.user
    context = {
        "waiting": Disclosure.objects.filter(state=Disclosure.State.REQUESTED).count()
        if user.has_perm(ledger.VIEW)
        else None,
        "review_due": register.incidents_due_for_review().count()
        if user.has_perm(register.VIEW)
        else None,
    }
    return render(request, "governance/hub.html", context)


# --- Incidents ---------------------------------------------------------------------------


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    check(request, register.VIEW)
    form = IncidentForm(request.POST or None)
    if request.method == "POST":
        actor = check(request, register.ADD)
        if form.is_valid():
            incident = register.incident_record(actor=actor, **form.cleaned_data)
            return redirect("governance_console:incident", incident.pk)
    page = Paginator(Incident.objects.all(), 50).get_page(request.GET.get("page"))
    context = {"page": page, "form": form, "review_days": settings.INCIDENT_REVIEW_DAYS}
    return render(request, "governance/incidents.html", context, status=400 if form.errors else 200)


def _incident_page(
    request: HttpRequest, incident: Incident, status: int = 200, **extra: Any
) -> HttpResponse:
    initial = {f: getattr(incident, f) for f in register.FIELDS}
    for field in ("occurred_at", "found_at"):
        if initial[field]:
            initial[field] = timezone.localtime(initial[field])
    context = {
        "incident": incident,
        "deadlines": register.incident_deadlines(incident),
        "form": extra.pop("form", IncidentForm(initial=initial)),
        "today": timezone.localdate(),
        **extra,
    }
    return render(request, "governance/incident.html", context, status=status)


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The entry with its deadlines; POST corrects it."""
    check(request, register.VIEW)
    incident = get_object_or_404(Incident, pk=pk)
    if request.method != "POST":
        return _incident_page(request, incident)
    actor = check(request, register.CHANGE)
    form = IncidentForm(request.POST)
    if not form.is_valid():
        return _incident_page(request, incident, 400, form=form)
    register.incident_update(actor=actor, incident=incident, **form.cleaned_data)
    return redirect("governance_console:incident", incident.pk)


@login_required
@require_POST
def incident_report(request: HttpRequest, pk: int) -> HttpResponse:
    actor = check(request, register.CHANGE)
    incident = get_object_or_404(Incident, pk=pk, kind=Incident.Kind.INCIDENT)
    form = ReportTickForm(request.POST)
    if not form.is_valid():
        return _incident_page(request, incident, 400, tick_errors=form.errors)
    data = form.cleaned_data
    register.incident_report_done(
        actor=actor, incident=incident, report=data["report"], on=data["on"]
    )
    return redirect("governance_console:incident", incident.pk)


@login_required
@require_POST
def incident_review(request: HttpRequest, pk: int) -> HttpResponse:
    actor = check(request, register.CHANGE)
    incident = get_object_or_404(Incident, pk=pk, closed_at__isnull=True)
    form = ReviewForm(request.POST)
    form.is_valid()  # a checkbox: anything but "on" is "not ticked"
    register.incident_review(
        actor=actor, incident=incident, close=form.cleaned_data.get("close", False)
    )
    return redirect("governance_console:incident", incident.pk)


# --- Privacy notice versions -------------------------------------------------------------


@login_required
def notice_list(request: HttpRequest) -> HttpResponse:
    """Versions with how many residents registered under each, and the editor: "preview"
    shows the text and its changes, "publish" saves it as the next version."""
    check(request, notices.VIEW)
    current = PrivacyNotice.objects.order_by("-version").first()
    initial = {"body_ja": current.body_ja, "body_en": current.body_en} if current else {}
    form = NoticeForm(request.POST or None, initial=initial)
    context: dict[str, Any] = {
        "versions": notices.notice_versions(),
        "form": form,
        "current": current,
    }
    if request.method == "POST":
        actor = check(request, notices.PUBLISH)
        if form.is_valid():
            data = form.cleaned_data
            if request.POST.get("action") == "publish":
                try:
                    notice = notices.privacy_notice_publish(actor=actor, **data)
                except notices.NoticeUnchanged as unchanged:
                    form.add_error(None, str(unchanged))
                else:
                    return redirect("governance_console:notice", notice.version)
            else:
                context["preview"] = _changes(current, data["body_ja"], data["body_en"])
    status = 400 if form.errors else 200
    return render(request, "governance/notices.html", context, status=status)


def _changes(old: PrivacyNotice | None, body_ja: str, body_en: str) -> dict[str, Any]:
    return {
        "body_ja": body_ja,
        "body_en": body_en,
        "diff_ja": notices.notice_diff(old.body_ja if old else "", body_ja),
        "diff_en": notices.notice_diff(old.body_en if old else "", body_en),
    }


@login_required
@require_GET
def notice_detail(request: HttpRequest, version: int) -> HttpResponse:
    check(request, notices.VIEW)
    notice = get_object_or_404(PrivacyNotice, version=version)
    previous = PrivacyNotice.objects.filter(version__lt=version).order_by("-version").first()
    context = {
        "notice": notice,
        "previous": previous,
        "changes": _changes(previous, notice.body_ja, notice.body_en) if previous else None,
    }
    return render(request, "governance/notice.html", context)
