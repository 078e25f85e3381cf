"""Record which look-up key the existing hashes were made with."""

from typing import Any

import django.utils.timezone
from django.db import migrations, models


def record(apps: Any, schema_editor: Any) -> None:
    from anshin.core import crypto

    apps.get_model("core", "LookupKey").objects.create(pk=1, fingerprint=crypto.lookup_key_id())


class Migration(migrations.Migration):
    dependencies = [("core", "0002_audit_hash_chain")]

    operations = [
        migrations.CreateModel(
            name="LookupKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("fingerprint", models.CharField(max_length=16)),
                ("recorded_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.RunPython(record, migrations.RunPython.noop),
    ]
