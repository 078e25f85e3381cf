"""Takedowns of personal details (issue 6) and the residents' register with its address
reveals (P2) join the roles: authors and administrators take personal details down from a
published alert; administrators see the register and may reveal a full address with a stated
reason; auditors read the register (masked) and the records of takedowns and reveals. See
anshin.core.roles."""

from django.db import migrations

from anshin.core.migrations import _roles_util

ADD = {
    "作成者": ("governance.add_takedown",),
    "管理者": (
        "governance.add_takedown",
        "governance.view_takedown",
        "residents.view_subscriber",
        "governance.reveal_address",
        "governance.view_addressreveal",
    ),
    "監査者": (
        "governance.view_takedown",
        "residents.view_subscriber",
        "governance.view_addressreveal",
    ),
}


def create(apps, schema_editor):
    _roles_util.grant(apps, ADD)


def remove(apps, schema_editor):
    _roles_util.withdraw(apps, ADD)


class Migration(migrations.Migration):
    dependencies = [("core", "0009_alert_approval_role"), ("governance", "0004_addressreveal")]

    operations = [migrations.RunPython(create, remove)]
