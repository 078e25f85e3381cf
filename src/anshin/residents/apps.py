from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "anshin.residents"
    label = "residents"
