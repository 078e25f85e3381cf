import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_takedown"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AddressReveal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("subscriber_ref", models.BigIntegerField()),
                ("revealed_at", models.DateTimeField(db_index=True)),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("inquiry", "Answering an inquiry"),
                            ("undeliverable", "Investigating undeliverable mail"),
                            ("disclosure", "Responding to a disclosure request"),
                            ("other", "Other"),
                        ],
                        max_length=16,
                        verbose_name="reason",
                    ),
                ),
                ("note", models.CharField(max_length=500, verbose_name="note")),
                (
                    "revealed_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-revealed_at", "-pk"],
                "permissions": [
                    ("reveal_address", "Can see a resident's full address, stating a reason")
                ],
            },
        ),
    ]
