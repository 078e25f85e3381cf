from django.contrib.auth import views as auth_views
from django.urls import include, path

from anshin.console import approval_views, canary_views, directory_views, views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("otp/", include("anshin.core.otp_urls")),
    path("compose/", views.compose, name="compose"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/retry/", views.alert_retry, name="alert_retry"),
    path("alerts/<int:pk>/stop/", views.alert_stop_view, name="alert_stop"),
    path("alerts/<int:pk>/approve/", approval_views.alert_approve_view, name="alert_approve"),
    path("alerts/<int:pk>/reject/", approval_views.alert_reject_view, name="alert_reject"),
    path("alerts/<int:pk>/test-send/", approval_views.alert_test_send_view, name="alert_test_send"),
    path("alerts/<int:pk>/release/", approval_views.alert_release_view, name="alert_release"),
    path("alerts/<int:pk>/canaries/", approval_views.alert_canaries, name="alert_canaries"),
    path("canaries/", canary_views.canaries, name="canaries"),
    path("canaries/<int:pk>/remove/", canary_views.canary_remove_view, name="canary_remove"),
    path("canaries/confirm/<str:token>/", canary_views.canary_confirm_view, name="canary_confirm"),
    path("suppressions/", views.suppressions, name="suppressions"),
    path("suppressions/<int:pk>/remove/", views.suppression_remove_view, name="suppression_remove"),
    path("directory/", directory_views.directory_list, name="directory"),
    path("directory/upload/", directory_views.directory_upload, name="directory_upload"),
    path("directory/apply/", directory_views.directory_apply, name="directory_apply"),
    path("directory/export/", directory_views.directory_export_view, name="directory_export"),
    path("", include("anshin.console.urls_receipts")),
    path("", include("anshin.console.urls_callouts")),
    path("", include("anshin.console.urls_followups")),
    path("", include("anshin.console.urls_subscribers")),
    path("mailbox/", views.mailbox, name="mailbox"),
    path("mailbox/<str:mail_id>/", views.mailbox_item, name="mailbox_item"),
]
