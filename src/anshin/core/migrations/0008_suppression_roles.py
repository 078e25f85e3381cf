"""The suppression list joins the roles: administrators see it and may remove an address from
it (a removal lets mail go to that address again), auditors see it. See anshin.core.roles."""

from django.db import migrations

from anshin.core.migrations import _roles_util

ADD = {
    "管理者": ("delivery.view_suppression", "delivery.delete_suppression"),
    "監査者": ("delivery.view_suppression",),
}


def create(apps, schema_editor):
    _roles_util.grant(apps, ADD)


def remove(apps, schema_editor):
    _roles_util.withdraw(apps, ADD)


class Migration(migrations.Migration):
    dependencies = [("core", "0007_channel_roles"), ("delivery", "0006_notification_mail_register")]

    operations = [migrations.RunPython(create, remove)]
