"""Approvers approve (or send back) alerts of the categories that require a second person;
administrators keep the test addresses (canaries, P6). See anshin.core.roles."""

from django.db import migrations

from anshin.core.migrations import _roles_util

ADD = {
    "承認者": ("alerts.approve_alert",),
    "管理者": ("delivery.view_canary", "delivery.add_canary", "delivery.delete_canary"),
}


def create(apps, schema_editor):
    _roles_util.grant(apps, ADD)


def remove(apps, schema_editor):
    _roles_util.withdraw(apps, ADD)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_suppression_roles"),
        ("alerts", "0008_approval"),
        ("delivery", "0007_canaries"),
    ]

    operations = [migrations.RunPython(create, remove)]
