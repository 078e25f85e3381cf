from django.db import migrations

DEFAULTS = [
    (
        "bousai",
        "防災",
        "Disaster",
        "地震・風水害・避難などの防災情報",
        "Earthquakes, storms, evacuation and other disaster information",
        10,
    ),
    (
        "bouhan",
        "防犯",
        "Crime prevention",
        "不審者・特殊詐欺・行方不明者などの防犯情報",
        "Suspicious persons, fraud warnings, missing persons and other crime-prevention information",
        20,
    ),
]


def create(apps, schema_editor):
    Category = apps.get_model("alerts", "Category")
    for slug, ja, en, dja, den, order in DEFAULTS:
        Category.objects.get_or_create(
            slug=slug,
            defaults={
                "name_ja": ja,
                "name_en": en,
                "description_ja": dja,
                "description_en": den,
                "sort_order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
