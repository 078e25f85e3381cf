"""The public transparency page (P4) and the console's list of deletion certificates."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from anshin.governance import signing
from anshin.governance.models import Certificate
from anshin.governance.selectors import (
    issued_certificates,
    retention_periods,
    transparency_figures,
)

VIEW = "governance.view_certificate"


@require_GET
def transparency(request: HttpRequest) -> HttpResponse:
    context = {
        "periods": retention_periods(),
        "backup_days": settings.BACKUP_RETENTION_DAYS,
        "figures": transparency_figures(),
        "public_pem": signing.public_pem(),
        "fingerprint": signing.fingerprint(),
    }
    return render(request, "governance/transparency.html", context)


@require_GET
def public_key(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(signing.public_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="anshin-certificate-key.pem"'
    return response


@login_required
@require_GET
def certificate_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(VIEW):
        raise PermissionDenied
    page = Paginator(issued_certificates(), 50).get_page(request.GET.get("page"))
    return render(request, "governance/certificates.html", {"page": page})


@login_required
@require_GET
def certificate_download(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm(VIEW):
        raise PermissionDenied
    certificate = get_object_or_404(Certificate, pk=pk, issued_at__isnull=False)
    response = HttpResponse(bytes(certificate.pdf), content_type="application/pdf")
    name = f"deletion-certificate-{certificate.serial}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
