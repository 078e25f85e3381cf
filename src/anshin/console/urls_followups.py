"""Console pages for follow-ups (続報・取消) of a published alert (included from
console/urls.py under the console namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from anshin.console import followup_views as views

urlpatterns: list[URLPattern] = [
    path("alerts/<int:pk>/follow-up/<slug:kind>/", views.followup_compose, name="followup"),
]
