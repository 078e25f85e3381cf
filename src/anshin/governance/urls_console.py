"""Mounted at /console/governance/ from the project's urls.py (the console's own urls.py
belongs to the console app)."""

from django.urls import path

from anshin.governance import (
    views,
    views_disclosures,
    views_registers,
    views_report,
    views_takedown,
)

app_name = "governance_console"
urlpatterns = [
    path("", views_registers.hub, name="hub"),
    path("certificates/", views.certificate_list, name="certificates"),
    path("certificates/<int:pk>/pdf/", views.certificate_download, name="certificate_pdf"),
    path("disclosures/", views_disclosures.disclosure_list, name="disclosures"),
    path("disclosures/<int:pk>/", views_disclosures.disclosure_detail, name="disclosure"),
    path(
        "disclosures/<int:pk>/decide/",
        views_disclosures.disclosure_decide,
        name="disclosure_decide",
    ),
    path(
        "disclosures/<int:pk>/file/", views_disclosures.disclosure_download, name="disclosure_file"
    ),
    path(
        "disclosures/<int:pk>/provided/",
        views_disclosures.disclosure_provided,
        name="disclosure_provided",
    ),
    path("processors/", views_disclosures.processor_list, name="processors"),
    path("incidents/", views_registers.incident_list, name="incidents"),
    path("incidents/<int:pk>/", views_registers.incident_detail, name="incident"),
    path("incidents/<int:pk>/report/", views_registers.incident_report, name="incident_report"),
    path("incidents/<int:pk>/review/", views_registers.incident_review, name="incident_review"),
    path("notices/", views_registers.notice_list, name="notices"),
    path("notices/<int:version>/", views_registers.notice_detail, name="notice"),
    path("report/", views_report.report_page, name="report"),
    path("report/issue/", views_report.report_issue, name="report_issue"),
    path("report/<int:pk>/pdf/", views_report.report_pdf, name="report_pdf"),
    path("takedowns/", views_takedown.takedown_list, name="takedowns"),
    path("takedowns/<int:pk>/", views_takedown.takedown_detail, name="takedown"),
    path("alerts/<int:alert_id>/takedown/", views_takedown.takedown_new, name="takedown_new"),
    path(
        "takedowns/posts/<int:pk>/removed/",
        views_takedown.takedown_post_removed_view,
        name="takedown_post_removed",
    ),
]
