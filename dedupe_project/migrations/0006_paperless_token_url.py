from django.db import migrations, models


def bind_stored_token_to_its_url(apps, schema_editor):
    """A token stored before this change was saved with the URL stored next to it."""
    Configuration = apps.get_model("dedupe_project", "Configuration")
    for config in Configuration.objects.exclude(paperless_token_encrypted=""):
        config.paperless_token_url = (config.paperless_url or "").strip().rstrip("/")
        config.save(update_fields=["paperless_token_url"])


class Migration(migrations.Migration):
    dependencies = [
        ("dedupe_project", "0005_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="configuration",
            name="paperless_token_url",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="The URL the stored token was saved with: it is never sent anywhere else.",
                max_length=500,
            ),
        ),
        migrations.RunPython(bind_stored_token_to_its_url, migrations.RunPython.noop),
    ]
