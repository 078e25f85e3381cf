"""Console pages for receipts (included from console/urls.py under the console namespace)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
