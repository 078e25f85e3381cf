from django.urls import path

from anshin.governance import views

app_name = "governance"
urlpatterns = [
    path("", views.transparency, name="transparency"),
    path("certificate-key.pem", views.public_key, name="public_key"),
]
