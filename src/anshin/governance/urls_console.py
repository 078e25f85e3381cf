"""Mounted at /console/certificates/ from the project's urls.py (the console's own urls.py
belongs to the console app)."""

from django.urls import path

from anshin.governance import views

app_name = "governance_console"
urlpatterns = [
    path("", views.certificate_list, name="certificates"),
    path("<int:pk>/pdf/", views.certificate_download, name="certificate_pdf"),
]
