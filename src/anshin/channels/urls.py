"""Mounted at /console/channels/ from the project's urls.py."""

from django.urls import path

from anshin.channels import views

app_name = "channels_console"
urlpatterns = [
    path("", views.channel_list, name="list"),
    path("new/", views.channel_create_view, name="create"),
    path("<int:pk>/", views.channel_edit, name="edit"),
    path("alerts/<int:alert_id>/", views.alert_posts_view, name="alert"),
    path("posts/<int:pk>/retry/", views.post_retry_view, name="retry"),
]
