"""Staff console: the migration of the old system's subscribers (S6: upload → preview →
apply, then the progress of the notices) and the yearly receipt check (S10: schedule, cancel,
results). Thin: each view checks its permission before it reads or writes anything, then
calls one service or selector. No address ever reaches these pages: rows are counted.
"""

from __future__ import annotations

from typing import Any, Final

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from anshin.core.audit import Actor
from anshin.residents.importing import BASIS_MAX, ImportAborted, ImportResult, decode_csv
from anshin.residents.migration import migration_import
from anshin.residents.models import ReceiptCheck, ResidentImport
from anshin.residents.receipts import (
    ScheduleRefused,
    receipt_check_cancel,
    receipt_check_schedule,
)
from anshin.residents.selectors import import_notices, receipt_check_summary
from anshin.residents.uploads import upload_store, upload_take

ERRORS_SHOWN: Final = 500


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm("residents." + permission):
        raise PermissionDenied


# --- Migration from the old system ------------------------------------------------------------


class MigrationForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    basis = forms.CharField(
        label=_("Consent basis"),
        max_length=BASIS_MAX,
        help_text=_("Recorded on each resident, e.g. 'migrated from the old system, 2017-03-01'."),
    )
    notify = forms.BooleanField(
        label=_("Send each new resident the migration notice"), required=False
    )


@login_required
def migration_upload(request: HttpRequest) -> HttpResponse:
    _require(request, "import_subscribers")
    form = MigrationForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "max_mb": _max_bytes() // (1024 * 1024)}
    if request.method != "POST":
        return render(request, "console/migration_upload.html", context)
    if not form.is_valid():
        return render(request, "console/migration_upload.html", context, status=400)
    data = form.cleaned_data["file"].read(_max_bytes() + 1)
    basis, notify = form.cleaned_data["basis"], form.cleaned_data["notify"]
    try:
        if len(data) > _max_bytes():
            message = _("The file is larger than %(mb)d MB.") % {"mb": context["max_mb"]}
            raise ImportAborted("too_large", str(message))
        result = migration_import(
            lines=decode_csv(data).lines(),
            basis=basis,
            actor=Actor.staff(request.user),
            notify=notify,
            dry_run=True,
        ).result
    except ImportAborted as exc:
        context["problem"] = exc.message
        return render(request, "console/migration_upload.html", context, status=400)
    context.update(_result_context(result), sha256=upload_store(data), basis=basis, notify=notify)
    return render(request, "console/migration_preview.html", context)


def _max_bytes() -> int:
    return int(settings.RESIDENT_IMPORT_MAX_BYTES)


def _result_context(result: ImportResult) -> dict[str, Any]:
    problems = sorted(result.errors + result.duplicates_in_file, key=lambda p: p.line)
    return {
        "result": result,
        "problems": problems[:ERRORS_SHOWN],
        "problems_not_shown": max(0, len(problems) - ERRORS_SHOWN),
    }


@login_required
@require_POST
def migration_apply(request: HttpRequest) -> HttpResponse:
    _require(request, "import_subscribers")
    data = upload_take(request.POST.get("sha256", ""))
    if data is None:
        return render(request, "console/migration_upload.html", _gone_context(), status=400)
    try:
        outcome = migration_import(
            lines=decode_csv(data).lines(),
            basis=request.POST.get("basis", ""),
            actor=Actor.staff(request.user),
            notify=request.POST.get("notify") == "1",
        )
    except ImportAborted as exc:
        context = {**_gone_context(), "problem": exc.message}
        return render(request, "console/migration_upload.html", context, status=400)
    assert outcome.record is not None
    return redirect("console:migration_result", outcome.record.pk)


def _gone_context() -> dict[str, Any]:
    return {
        "form": MigrationForm(),
        "max_mb": _max_bytes() // (1024 * 1024),
        "problem": _(
            "The checked file is no longer here: it was applied already, or too long ago. "
            "Nothing has changed. Upload the file again."
        ),
    }


@login_required
@require_GET
def migration_result(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "import_subscribers")
    record = get_object_or_404(ResidentImport, pk=pk)
    context = {"record": record, "counts": record.counts, "progress": import_notices(record)}
    if request.htmx:  # type: ignore[attr-defined]
        # htmx stops polling on status 286, once no notice is waiting.
        status = 286 if context["progress"].done else 200
        return render(request, "console/migration_progress.html", context, status=status)
    return render(request, "console/migration_result.html", context)


# --- The yearly receipt check -------------------------------------------------------------------


class ScheduleForm(forms.Form):
    send_on = forms.DateField(
        label=_("Sending date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    deadline = forms.DateField(
        label=_("Deadline for confirmations"), widget=forms.DateInput(attrs={"type": "date"})
    )
    policy = forms.ChoiceField(
        label=_("Residents who do not confirm by the deadline"),
        choices=ReceiptCheck.Policy.choices,
        widget=forms.RadioSelect,
        initial=ReceiptCheck.Policy.KEEP,
    )


@login_required
def receipt_list(request: HttpRequest) -> HttpResponse:
    _require(request, "view_receiptcheck")
    form = ScheduleForm(request.POST or None)
    if request.method == "POST":
        _require(request, "add_receiptcheck")
        if form.is_valid():
            try:
                check = receipt_check_schedule(actor=Actor.staff(request.user), **form.cleaned_data)
            except ScheduleRefused as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("console:receipt", check.pk)
    context = {
        "form": form,
        "checks": ReceiptCheck.objects.all()[:50],
        "can_schedule": request.user.has_perm("residents.add_receiptcheck"),
        "send_hour": settings.RECEIPT_CHECK_SEND_HOUR,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "console/receipt_list.html", context, status=status)


@login_required
@require_GET
def receipt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "view_receiptcheck")
    check = get_object_or_404(ReceiptCheck, pk=pk)
    context = {
        "check": check,
        "summary": receipt_check_summary(check),
        "can_cancel": request.user.has_perm("residents.change_receiptcheck"),
    }
    if request.htmx:  # type: ignore[attr-defined]
        done = check.state in (ReceiptCheck.State.CLOSED, ReceiptCheck.State.CANCELLED)
        return render(request, "console/receipt_summary.html", context, status=286 if done else 200)
    return render(request, "console/receipt_detail.html", context)


@login_required
@require_POST
def receipt_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "change_receiptcheck")
    check = get_object_or_404(ReceiptCheck, pk=pk)
    try:
        receipt_check_cancel(check=check, actor=Actor.staff(request.user))
    except ScheduleRefused as exc:
        context = {
            "check": check,
            "summary": receipt_check_summary(check),
            "can_cancel": True,
            "error": str(exc),
        }
        return render(request, "console/receipt_detail.html", context, status=409)
    return redirect("console:receipt", check.pk)
