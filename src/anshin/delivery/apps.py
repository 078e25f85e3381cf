from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "anshin.delivery"
    label = "delivery"
