"""Staff console: the staff directory — list (masked), CSV import (upload → preview → apply)
and CSV export.

The import is the service's (:func:`anshin.directory.services.directory_import`); these views
only carry the file between the two steps. The previewed bytes are kept on the server, in a
0600 file under ``HOME/uploads`` named by their SHA-256 — never in the session cookie or a
form field — and the apply step passes that hash as ``expect_sha256``, so what is applied is
exactly the file whose preview the clerk saw. The stored file is deleted after the apply
(whatever its outcome); one never applied is removed a day later by the next upload.

The list shows contact data masked only (``t***@c***.lg.jp``, ``090-****-5678``): a full
address or phone number never reaches a page. Every view checks its permission before it
reads or writes anything: a user without it gets 403.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path
from typing import Any, Final

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from anshin.core.audit import Actor
from anshin.directory import csvio
from anshin.directory.models import StaffMember
from anshin.directory.phones import national_format
from anshin.directory.services import (
    ExportRefused,
    ImportReport,
    directory_export,
    directory_import,
    import_limits,
)

PER_PAGE: Final = 50
ERRORS_SHOWN: Final = 1000  # row errors listed on a page; the rest are counted
UPLOAD_MAX_AGE_SECONDS: Final = 24 * 60 * 60
_SHA256: Final = re.compile(r"[0-9a-f]{64}")

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


def mask_name(name: str) -> str:
    """山田太郎 → 山***: enough to tell rows apart at a glance, not to read the name."""
    return name[:1] + "***" if name else ""


def mask_email(address: str) -> str:
    """taro@city.anshin.lg.jp → t***@a***.lg.jp: the first letter of the mailbox and of the
    domain's own name, then its public suffix (one label, or two when the last but one is a
    short second-level label such as lg, co or ne)."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    labels = domain.split(".")
    suffix_len = 2 if len(labels) >= 3 and len(labels[-2]) <= 3 else 1
    suffix = labels[-suffix_len:] if len(labels) > suffix_len else []
    owner = labels[-suffix_len - 1] if len(labels) > suffix_len else labels[0]
    return f"{local[:1]}***@" + ".".join([owner[:1] + "***", *suffix])


def mask_phone(e164: str) -> str:
    """+819012345678 → 090-****-5678: the area or mobile prefix and the last four digits."""
    if not e164:
        return ""
    try:
        national = national_format(e164)
    except ValueError:
        return "****"
    head, _sep, rest = national.partition("-")
    tail = rest.rpartition("-")[2]
    return f"{head}-****-{tail}"


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
        _store_upload(data, report.sha256)
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
    claimed = _claim_upload(sha)
    if claimed is None:
        return render(request, "console/directory_result.html", {"missing": True}, status=400)
    try:
        report = directory_import(
            data=claimed.read_bytes(),
            actor=Actor.staff(request.user),
            deactivate_missing=deactivate,
            expect_sha256=sha,
        )
    finally:
        claimed.unlink(missing_ok=True)  # applied or refused: a new attempt starts from upload
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


def _uploads_dir() -> Path:
    return Path(settings.HOME) / "uploads"


def _upload_path(sha: str) -> Path | None:
    """The stored file for this hash; None for anything that is not a SHA-256 in hex."""
    if not _SHA256.fullmatch(sha):
        return None
    return _uploads_dir() / f"{sha}.csv"


def _claim_upload(sha: str) -> Path | None:
    """Take the stored file for this hash away from the store (a rename, so that of two
    clicks on "apply" only one gets it); None when there is none."""
    path = _upload_path(sha)
    if path is None:
        return None
    claimed = path.with_name(f".{sha}.{secrets.token_hex(8)}.applying")
    try:
        path.rename(claimed)
    except FileNotFoundError:
        return None
    return claimed


def _store_upload(data: bytes, sha: str) -> None:
    directory = _uploads_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    _remove_stale(directory)
    path = _upload_path(sha)
    assert path is not None
    partial = directory / f".{sha}.{os.getpid()}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(partial, path)


def _remove_stale(directory: Path) -> None:
    """Previewed files nobody applied: gone after a day."""
    limit = time.time() - UPLOAD_MAX_AGE_SECONDS
    for stored in directory.glob("*"):  # also parts and claims a crash left behind
        try:
            if stored.stat().st_mtime < limit:
                stored.unlink()
        except FileNotFoundError:
            continue


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
