from django.urls import path

from anshin.inbound import views

app_name = "inbound_console"
urlpatterns = [
    path("", views.drafts, name="drafts"),
    path("drafts/<int:pk>/", views.draft_detail, name="draft"),
    path("drafts/<int:pk>/use/", views.draft_use, name="draft_use"),
    path("drafts/<int:pk>/discard/", views.draft_discard, name="draft_discard"),
    path("registration/", views.registration_codes, name="codes"),
    path("registration/flyer.pdf", views.flyer_download, name="flyer"),
]
