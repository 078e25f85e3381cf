"""Backup codes are kept as keyed hashes (anshin.core.otp_services.stored_backup_code), so a
copy of the database or of a backup holds no usable second factor. Codes issued before are
hashed in place; the staff member keeps using the same printed codes."""

from django.db import migrations


def hash_codes(apps, schema_editor):
    from anshin.core.otp_services import stored_backup_code

    StaticToken = apps.get_model("otp_static", "StaticToken")
    for token in StaticToken.objects.all().iterator():
        # A stored hash is 16 hex characters; django-otp's own codes are 8 base32 characters.
        if len(token.token) != 16:
            token.token = stored_backup_code(token.token)
            token.save(update_fields=["token"])


class Migration(migrations.Migration):
    dependencies = [("core", "0010_takedown_reveal_roles"), ("otp_static", "0003_add_timestamps")]

    operations = [migrations.RunPython(hash_codes, migrations.RunPython.noop)]
