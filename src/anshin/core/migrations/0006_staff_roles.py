"""The four staff roles as Django groups (see anshin.core.roles for what each may do).

A frozen copy of the table at the time of writing: later changes to a role come as a new
migration (0007 adds the social channels).
"""

from django.db import migrations

from anshin.core.migrations import _roles_util

ROLES = {
    "作成者": (
        "alerts.add_alert",
        "directory.view_callout",
        "directory.send_callout",
        "inbound.view_intakedraft",
        "inbound.change_intakedraft",
        "governance.view_incident",
        "governance.add_incident",
    ),
    "承認者": ("governance.view_disclosure", "governance.approve_disclosure"),
    "管理者": (
        "directory.view_staffmember",
        "directory.import_staffmember",
        "directory.export_staffmember",
        "directory.view_callout",
        "directory.export_callout",
        "api.view_apikey",
        "api.add_apikey",
        "api.change_apikey",
        "residents.view_receiptcheck",
        "residents.add_receiptcheck",
        "residents.change_receiptcheck",
        "residents.import_subscribers",
        "residents.view_privacynotice",
        "residents.add_privacynotice",
        "governance.view_disclosure",
        "governance.add_disclosure",
        "governance.change_disclosure",
        "governance.view_incident",
        "governance.add_incident",
        "governance.change_incident",
        "governance.view_councilreport",
        "governance.add_councilreport",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
    ),
    "監査者": (
        "governance.view_councilreport",
        "governance.view_certificate",
        "governance.view_disclosure",
        "governance.view_incident",
        "residents.view_privacynotice",
        "core.view_auditevent",
        "directory.view_callout",
        "residents.view_receiptcheck",
    ),
}


def create(apps, schema_editor):
    _roles_util.grant(apps, ROLES)


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0005_actor_kind_integration"),
        ("alerts", "0007_via_api"),
        ("api", "0001_initial"),
        ("directory", "0002_callouts"),
        ("governance", "0002_registers"),
        ("inbound", "0001_initial"),
        ("residents", "0003_receipt_check_and_import"),
    ]

    operations = [migrations.RunPython(create, remove)]
