from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "anshin.console"
    label = "console"
