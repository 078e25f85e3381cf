"""Mounted at /console/api-keys/ from the project's urls.py."""

from django.urls import path

from anshin.api import views_console

app_name = "api_console"
urlpatterns = [
    path("", views_console.key_list, name="keys"),
    path("new/", views_console.key_create, name="key_create"),
    path("<int:pk>/revoke/", views_console.key_revoke, name="key_revoke"),
]
