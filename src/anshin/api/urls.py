"""Mounted at /api/ from the project's urls.py: the API, its OpenAPI document at
/api/openapi.json, and JSON for the errors Django or ninja would answer otherwise in plain
text or HTML (an unknown path under /api/, a method the path does not take)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, URLResolver, path, re_path
from django.utils.translation import gettext as _

from anshin.api.api import api


def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    return JsonResponse({"detail": _("Not found.")}, status=404)


def _json_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)  # keeps ninja's csrf_exempt mark
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        message = _("This method is not allowed here.")
        allowed = JsonResponse({"detail": message}, status=405)
        allowed["Allow"] = response["Allow"]
        return allowed

    return wrapped


def _api_patterns() -> tuple[list[URLPattern | URLResolver], str, str]:
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern) and pattern.callback is not None:
            pattern.callback = _json_not_allowed(pattern.callback)
    return patterns, app_name, namespace


urlpatterns = [
    path("", _api_patterns()),
    re_path(r"^(?P<rest>.*)$", not_found),
]
