"""The second sign-in step, mounted under /console/otp/ by anshin.console.urls."""

from django.urls import path

from anshin.core import otp_views

urlpatterns = [
    path("verify/", otp_views.verify, name="otp_verify"),
    path("enrol/", otp_views.enrol, name="otp_enrol"),
    path("backup-codes/", otp_views.backup_codes, name="otp_backup_codes"),
    path("backup-codes/replace/", otp_views.backup_codes_replace, name="otp_backup_codes_replace"),
]
