"""The public archive (readable without registering, on an old phone: plain HTML, no script)
and each alert's CAP message. Thin: each view calls one selector."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anshin.alerts import cap, selectors
from anshin.alerts.models import Category


def archive(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    category = selectors.public_category(slug=slug) if slug else None
    page = selectors.public_alert_page(category=category, number=request.GET.get("page"))
    context = {
        "page": page,
        "category": category,
        "categories": Category.objects.all(),
    }
    return render(request, "alerts/archive.html", context)


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.public_alert(pk=pk)
    context = {
        "alert": alert,
        "cap_url": cap.cap_url(alert),
        "english_first": (request.LANGUAGE_CODE or "ja").startswith("en"),
    }
    return render(request, "alerts/detail.html", context)


def cap_xml(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.public_alert(pk=pk)
    return HttpResponse(cap.cap_document(alert), content_type=cap.CONTENT_TYPE)
