from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "anshin.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Registers anshin's system checks.
        from django.db.models.signals import post_migrate

        from anshin.core import checks, keyring  # noqa: F401

        post_migrate.connect(keyring.lookup_key_refresh, sender=self)
