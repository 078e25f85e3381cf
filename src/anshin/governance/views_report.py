"""Console pages of the council report: the live page (any period, in the reader's language)
and the issued PDFs (Japanese, kept and audited)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from anshin.governance import council
from anshin.governance.council_pdf import check_state
from anshin.governance.forms import PeriodForm
from anshin.governance.models import CouncilReport
from anshin.governance.views_disclosures import check


@login_required
@require_GET
def report_page(request: HttpRequest) -> HttpResponse:
    """The report for ?start=&end= (default: the last twelve months)."""
    check(request, council.VIEW)
    start, end = council.default_period()
    form = PeriodForm(
        request.GET if "start" in request.GET else None, initial={"start": start, "end": end}
    )
    if form.is_bound and not form.is_valid():
        return render(request, "governance/report.html", {"form": form}, status=400)
    if form.is_bound:
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    report = council.council_report(start=start, end=end)
    checklist = [(c, check_state(c.state)) for c in report.checklist]
    issued = CouncilReport.objects.defer("pdf")[:20]
    context = {"form": form, "report": report, "checklist": checklist, "issued": issued}
    return render(request, "governance/report.html", context)


@login_required
@require_POST
def report_issue(request: HttpRequest) -> HttpResponse:
    actor = check(request, council.ISSUE)
    form = PeriodForm(request.POST)
    if not form.is_valid():
        return render(request, "governance/report.html", {"form": form}, status=400)
    issued = council.council_report_issue(actor=actor, **form.cleaned_data)
    return redirect("governance_console:report_pdf", issued.pk)


@login_required
@require_GET
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    check(request, council.VIEW)
    issued = get_object_or_404(CouncilReport, pk=pk)
    response = HttpResponse(bytes(issued.pdf), content_type="application/pdf")
    name = f"council-report-{issued.period_start:%Y%m%d}-{issued.period_end:%Y%m%d}-{issued.pk}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
