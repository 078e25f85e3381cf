"""Public pages of the staff directory: the short reply links of call-outs (/r/<token>)."""

from __future__ import annotations

from django.urls import URLPattern, path

from anshin.directory import views

app_name = "directory"
urlpatterns: list[URLPattern] = [
    path("<str:token>", views.reply, name="reply"),
]
