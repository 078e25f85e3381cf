from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "anshin.alerts"
    label = "alerts"
