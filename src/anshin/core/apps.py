from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "anshin.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from anshin.core import checks  # noqa: F401  (registers anshin's system checks)
