"""Staff console: the staff directory — list (masked), CSV import (upload → preview → apply)
and CSV export.

The import is the service's (:func:`anshin.directory.services.directory_import`); these views
only carry the file between the two steps, in an :class:`anshin.core.uploads.UploadStore`
(``HOME/uploads``, never the session cookie or a form field); the apply step also passes the
hash as ``expect_sha256``, so what is applied is exactly the file whose preview the clerk saw.

The list shows contact data masked only (``t***@c***.lg.jp``, ``090-****-5678``): a full
address or phone number never reaches a page. Every view checks its permission before it
reads or writes anything: a user without it gets 403.
"""

from __future__ import annotations

from typing import Any, Final

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from anshin.core.audit import Actor
from anshin.core.masking import mask_email, mask_name, mask_phone
from anshin.core.uploads import UploadStore
from anshin.directory import csvio
from anshin.directory.models import StaffMember
from anshin.directory.services import (
    ExportRefused,
    ImportReport,
    directory_export,
    directory_import,
    import_limits,
)

PER_PAGE: Final = 50
ERRORS_SHOWN: Final = 1000  # row errors listed on a page; the rest are counted
UPLOADS: Final = UploadStore("")  # HOME/uploads, where previewed staff files always were

FIELD_LABELS: Final = {
    "staff_id": _("Staff number"),
    "name": _("Name"),
    "email": _("E-mail address"),
    "phone": _("Phone number"),
    "department": _("Department"),
    "position": _("Position"),
    "team": _("Team"),
    "area": _("Area of residence"),
    "oncall_group": _("On-call group"),
}


def _require(request: HttpRequest, *permissions: str) -> None:
    """403 unless the user holds at least one of the permissions."""
    if not any(request.user.has_perm("directory." + p) for p in permissions):
        raise PermissionDenied


# --- list -------------------------------------------------------------------------------------


@login_required
def directory_list(request: HttpRequest) -> HttpResponse:
    _require(request, "view_staffmember", "import_staffmember", "export_staffmember")
    return render(request, "console/directory_list.html", _list_context(request))


def _list_context(request: HttpRequest) -> dict[str, Any]:
    members = StaffMember.objects.order_by("-active", "staff_id", "pk")
    page = Paginator(members, PER_PAGE).get_page(request.GET.get("page"))
    return {
        "active_count": StaffMember.objects.filter(active=True).count(),
        "inactive_count": StaffMember.objects.filter(active=False).count(),
        "page": page,
        "rows": [_masked_row(member) for member in page],
        "encodings": csvio.ENCODINGS,
        "can_import": request.user.has_perm("directory.import_staffmember"),
        "can_export": request.user.has_perm("directory.export_staffmember"),
    }


def _masked_row(member: StaffMember) -> dict[str, Any]:
    return {
        "staff_id": member.staff_id or "",
        "name": mask_name(member.name),
        "email": mask_email(member.email),
        "phone": mask_phone(member.phone),
        "department": member.department,
        "position": member.position,
        "team": member.team,
        "area": member.area,
        "oncall_group": member.oncall_group,
        "active": member.active,
    }


# --- import -----------------------------------------------------------------------------------


@login_required
def directory_upload(request: HttpRequest) -> HttpResponse:
    _require(request, "import_staffmember")
    max_bytes, max_rows = import_limits()
    context: dict[str, Any] = {"max_mb": max_bytes // (1024 * 1024), "max_rows": max_rows}
    if request.method != "POST":
        return render(request, "console/directory_upload.html", context)
    upload = request.FILES.get("file")
    deactivate = request.POST.get("deactivate_missing") == "1"
    context["deactivate_missing"] = deactivate
    if upload is None:
        context["form_error"] = _("Choose a CSV file.")
        return render(request, "console/directory_upload.html", context, status=400)
    data = upload.read(max_bytes + 1)  # one byte more lets the service refuse a larger file
    report = directory_import(
        data=data, actor=Actor.staff(request.user), deactivate_missing=deactivate, dry_run=True
    )
    if report.status == "checked":
        UPLOADS.store(data)
    context.update(_report_context(report))
    return render(
        request, "console/directory_preview.html", context, status=200 if report.ok else 400
    )


@login_required
@require_POST
def directory_apply(request: HttpRequest) -> HttpResponse:
    _require(request, "import_staffmember")
    sha = request.POST.get("sha256", "")
    deactivate = request.POST.get("deactivate_missing") == "1"
    data = UPLOADS.take(sha)
    if data is None:
        return render(request, "console/directory_result.html", {"missing": True}, status=400)
    report = directory_import(
        data=data,
        actor=Actor.staff(request.user),
        deactivate_missing=deactivate,
        expect_sha256=sha,
    )
    return render(
        request,
        "console/directory_result.html",
        _report_context(report),
        status=200 if report.ok else 400,
    )


def _report_context(report: ImportReport) -> dict[str, Any]:
    mapping = [
        (FIELD_LABELS[name], report.columns[name])
        for name in csvio.FIELDS
        if name in report.columns
    ]
    absent = [FIELD_LABELS[name] for name in csvio.FIELDS if name not in report.columns]
    errors = [
        {
            "line": error.line,
            "field": FIELD_LABELS.get(error.field, error.field),
            "message": error.message,
        }
        for error in report.errors[:ERRORS_SHOWN]
    ]
    return {
        "report": report,
        "counts": report.counts(),
        "mapping": mapping,
        "absent": absent,
        "key_label": FIELD_LABELS.get(report.key, ""),
        "errors": errors,
        "errors_not_shown": max(0, len(report.errors) - ERRORS_SHOWN),
    }


# --- export -----------------------------------------------------------------------------------


@login_required
@require_POST
def directory_export_view(request: HttpRequest) -> HttpResponse:
    _require(request, "export_staffmember")
    encoding = request.POST.get("encoding", "utf-8")
    if encoding not in csvio.ENCODINGS:
        encoding = "utf-8"
    try:
        data = directory_export(actor=Actor.staff(request.user), encoding=encoding)
    except ExportRefused as exc:
        context = _list_context(request)
        context.update(export_error=exc.message, export_problems=exc.problems[:ERRORS_SHOWN])
        return render(request, "console/directory_list.html", context, status=400)
    charset = "utf-8" if encoding == "utf-8" else "shift_jis"
    response = HttpResponse(data, content_type=f"text/csv; charset={charset}")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="staff-directory-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
