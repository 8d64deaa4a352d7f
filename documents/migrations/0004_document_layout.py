from django.db import migrations, models


def layouts_needed(apps, schema_editor):
    """Documents hashed before page layouts existed go through the next sync's files phase
    again: the layout is read from the cached thumbnail, or the thumbnail fetched again."""
    Document = apps.get_model("documents", "Document")
    Document.objects.filter(phash__isnull=False, layout__isnull=True).update(thumbnail_needed=True)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0003_document_versions"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="layout",
            field=models.BinaryField(
                blank=True,
                help_text="The first page's layout signature (duplicates.engine.layout); null "
                "until the thumbnail was read with this version.",
                null=True,
            ),
        ),
        migrations.RunPython(layouts_needed, migrations.RunPython.noop),
    ]
