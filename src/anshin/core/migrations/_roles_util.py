"""Shared by the role migrations (Django's loader skips modules whose name starts with "_")."""

from django.contrib.auth.management import create_permissions


def ensure_permissions(apps):
    """Django creates permissions after all migrations (post_migrate); a fresh database runs
    the role migrations before that, so create them here first."""
    for config in apps.get_app_configs():
        # Historical app configs have no models module, and create_permissions skips those.
        original = getattr(config, "models_module", None)
        config.models_module = original or True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = original


def grant(apps, mapping):
    """Give each group (created if missing) the listed "app.codename" permissions."""
    ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, labels in mapping.items():
        group, _ = Group.objects.get_or_create(name=name)
        for label in labels:
            app, codename = label.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app, codename=codename)
            )


def withdraw(apps, mapping):
    Group = apps.get_model("auth", "Group")
    for name, labels in mapping.items():
        for group in Group.objects.filter(name=name):
            for label in labels:
                app, codename = label.split(".")
                group.permissions.remove(
                    *group.permissions.filter(content_type__app_label=app, codename=codename)
                )
