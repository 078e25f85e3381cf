"""Console pages for the migration of residents (S6) and the yearly receipt check (S10)
(included from console/urls.py under the console namespace)."""

from __future__ import annotations

from django.urls import URLPattern, path

from anshin.console import receipt_views as views

urlpatterns: list[URLPattern] = [
    path("residents/import/", views.migration_upload, name="migration_upload"),
    path("residents/import/apply/", views.migration_apply, name="migration_apply"),
    path("residents/imports/<int:pk>/", views.migration_result, name="migration_result"),
    path("receipts/", views.receipt_list, name="receipts"),
    path("receipts/<int:pk>/", views.receipt_detail, name="receipt"),
    path("receipts/<int:pk>/cancel/", views.receipt_cancel, name="receipt_cancel"),
]
