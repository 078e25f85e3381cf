"""Console pages for callouts (included from console/urls.py under the console namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from anshin.console import callout_views

urlpatterns: list[URLPattern] = [
    path("callouts/", callout_views.callout_list, name="callouts"),
    path("callouts/new/", callout_views.callout_compose, name="callout_compose"),
    path("callouts/count/", callout_views.callout_count, name="callout_count"),
    path("callouts/<int:pk>/", callout_views.callout_board, name="callout_board"),
    path("callouts/<int:pk>/remind/", callout_views.callout_remind_view, name="callout_remind"),
    path("callouts/<int:pk>/export/", callout_views.callout_export_view, name="callout_export"),
]
