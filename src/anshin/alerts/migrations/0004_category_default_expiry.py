from django.db import migrations

# Disaster alerts age fast (an evacuation order is superseded within hours); crime-prevention
# notices (a suspicious person, a missing person) stay relevant for a day.
DEFAULTS = {"bousai": 6, "bouhan": 24}


def set_defaults(apps, schema_editor):
    Category = apps.get_model("alerts", "Category")
    for slug, hours in DEFAULTS.items():
        Category.objects.filter(slug=slug).update(expiry_hours=hours)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0003_alert_expiry_stop")]
    operations = [migrations.RunPython(set_defaults, migrations.RunPython.noop)]
