"""Console pages of the residents' register (included from console/urls.py under the console
namespace). Ids only in these paths: an address never appears in a URL."""

from __future__ import annotations

from django.urls import URLPattern, path

from anshin.console import subscriber_views as views

urlpatterns: list[URLPattern] = [
    path("subscribers/", views.subscriber_list, name="subscribers"),
    path("subscribers/find/", views.subscriber_find, name="subscriber_find"),
    path("subscribers/reveals/", views.reveal_register, name="subscriber_reveals"),
    path("subscribers/<int:pk>/", views.subscriber_detail, name="subscriber"),
    path("subscribers/<int:pk>/reveal/", views.subscriber_reveal, name="subscriber_reveal"),
]
