"""Chain the audit log: number and hash the entries already recorded, in id order."""

from typing import Any

import django.utils.timezone
from django.db import migrations, models


def chain_existing(apps: Any, schema_editor: Any) -> None:
    from anshin.core.audit import GENESIS, entry_hash

    AuditEvent = apps.get_model("core", "AuditEvent")
    AuditChain = apps.get_model("core", "AuditChain")
    prev, seq = GENESIS, 0
    for event in AuditEvent.objects.order_by("id").iterator():
        seq += 1
        event.seq, event.prev_hash = seq, prev
        event.hash = entry_hash(
            prev_hash=prev,
            seq=seq,
            at=event.at,
            actor_kind=event.actor_kind,
            actor_user_id=event.actor_user_id,
            action=event.action,
            target_type=event.target_type,
            target_id=event.target_id,
            details=event.details,
        )
        event.save(update_fields=["seq", "prev_hash", "hash"])
        prev = event.hash
    AuditChain.objects.create(pk=1, seq=seq, head=prev)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="AuditChain",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.BigIntegerField(default=0)),
                ("head", models.CharField(default="0" * 64, max_length=64)),
            ],
        ),
        migrations.AddField(
            model_name="auditevent", name="seq", field=models.BigIntegerField(null=True)
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent", name="seq", field=models.BigIntegerField(unique=True)
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterModelOptions(name="auditevent", options={"ordering": ["seq"]}),
    ]
