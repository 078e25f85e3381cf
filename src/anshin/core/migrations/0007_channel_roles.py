"""Social channels (the channels app) join the roles: administrators manage them and retry
failed posts, auditors read them. See anshin.core.roles."""

from django.db import migrations

from anshin.core.migrations import _roles_util

ADD = {
    "管理者": (
        "channels.view_channel",
        "channels.add_channel",
        "channels.change_channel",
        "channels.view_post",
        "channels.change_post",
    ),
    "監査者": ("channels.view_channel", "channels.view_post"),
}


def create(apps, schema_editor):
    _roles_util.grant(apps, ADD)


def remove(apps, schema_editor):
    _roles_util.withdraw(apps, ADD)


class Migration(migrations.Migration):
    dependencies = [("core", "0006_staff_roles"), ("channels", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
