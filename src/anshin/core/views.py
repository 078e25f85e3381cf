from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from anshin.core import health


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """JSON: database, broker and SMTP reachability. 503 when any is down."""
    problems = health.status()
    body = {
        name: {"ok": problem is None, "detail": problem or "ok"}
        for name, problem in problems.items()
    }
    ok = all(problem is None for problem in problems.values())
    return JsonResponse({"ok": ok, **body}, status=200 if ok else 503)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)
