from django.contrib.auth import views as auth_views
from django.urls import include, path

from anshin.console import directory_views, views

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
    path("suppressions/", views.suppressions, name="suppressions"),
    path("suppressions/<int:pk>/remove/", views.suppression_remove_view, name="suppression_remove"),
    path("directory/", directory_views.directory_list, name="directory"),
    path("directory/upload/", directory_views.directory_upload, name="directory_upload"),
    path("directory/apply/", directory_views.directory_apply, name="directory_apply"),
    path("directory/export/", directory_views.directory_export_view, name="directory_export"),
    path("", include("anshin.console.urls_receipts")),
    path("", include("anshin.console.urls_callouts")),
    path("mailbox/", views.mailbox, name="mailbox"),
    path("mailbox/<str:mail_id>/", views.mailbox_item, name="mailbox_item"),
]
