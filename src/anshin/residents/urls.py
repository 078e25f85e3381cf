from django.urls import path

from anshin.residents import views

app_name = "residents"
urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/sent/", views.sent, name="sent"),
    path("subscribe/confirm/<str:token>/", views.confirm, name="confirm"),
    path("subscribe/mail/<str:token>/", views.subscribe_mail, name="subscribe_mail"),
    path("manage/<str:token>/", views.manage, name="manage"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("receipt/<str:token>/", views.receipt, name="receipt"),
    path("resume/<str:token>/", views.resume, name="resume"),
]
