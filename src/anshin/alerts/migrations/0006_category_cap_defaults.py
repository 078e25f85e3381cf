from django.db import migrations

# A disaster mail (evacuation, shelters, weather and earthquake warnings) calls for action now
# and threatens life; a crime-prevention notice (a suspicious person, a fraud wave, a missing
# person) asks residents to watch out. Staff can change each per alert in compose.
DEFAULTS = {
    "bousai": {
        "cap_categories": "Met Geo Safety",
        "cap_urgency": "Immediate",
        "cap_severity": "Severe",
        "cap_certainty": "Likely",
    },
    "bouhan": {
        "cap_categories": "Security",
        "cap_urgency": "Expected",
        "cap_severity": "Moderate",
        "cap_certainty": "Possible",
    },
}


def set_defaults(apps, schema_editor):
    Category = apps.get_model("alerts", "Category")
    for slug, values in DEFAULTS.items():
        Category.objects.filter(slug=slug).update(**values)


def backfill_alerts(apps, schema_editor):
    """Alerts sent before CAP existed get their category's CAP category; urgency, severity and
    certainty stay Unknown, because nobody chose them."""
    Alert = apps.get_model("alerts", "Alert")
    for slug, values in DEFAULTS.items():
        Alert.objects.filter(category__slug=slug).update(cap_categories=values["cap_categories"])


class Migration(migrations.Migration):
    dependencies = [("alerts", "0005_cap")]
    operations = [
        migrations.RunPython(set_defaults, migrations.RunPython.noop),
        migrations.RunPython(backfill_alerts, migrations.RunPython.noop),
    ]
