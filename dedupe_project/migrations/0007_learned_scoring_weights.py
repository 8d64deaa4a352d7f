"""Scoring became a model learned from labelled documents: a factor's weight now multiplies what
the model learned for it (1 = as learned). Stored weights of the old hand-set formula (fuzzy 2.0,
jaccard 0.5, ...) would distort it, so every weight goes back to 1 and the person's on/off
switches are kept; the new "words" factor is added, on. A threshold left at the old default
(0.7) takes the model's calibrated threshold; a threshold a person chose stays."""

import django.core.validators
from django.db import migrations, models

import dedupe_project.models

OLD_DEFAULT_THRESHOLD = 0.7
FACTOR_NAMES = (
    "jaccard", "fuzzy", "characters", "containment", "words", "image", "metadata", "correspondent",
    "document_type", "created", "page_count", "size", "title", "filename", "checksum",
    "discriminative",
)  # fmt: skip


def learned_weights(apps, schema_editor):
    from duplicates.engine.model import default_model

    Configuration = apps.get_model("dedupe_project", "Configuration")
    for config in Configuration.objects.all():
        old = config.factor_weights if isinstance(config.factor_weights, dict) else {}
        config.factor_weights = {
            name: {"weight": 1.0, "enabled": bool((old.get(name) or {}).get("enabled", True))}
            for name in FACTOR_NAMES
        }
        if abs(config.duplicate_threshold - OLD_DEFAULT_THRESHOLD) < 1e-9:
            config.duplicate_threshold = default_model().threshold
        config.save(update_fields=["factor_weights", "duplicate_threshold"])


class Migration(migrations.Migration):
    dependencies = [
        ("dedupe_project", "0006_paperless_token_url"),
    ]

    operations = [
        migrations.AlterField(
            model_name="configuration",
            name="duplicate_threshold",
            field=models.FloatField(
                default=dedupe_project.models.default_threshold,
                help_text="Pairs scoring at or above this confidence are duplicates.",
                validators=[
                    django.core.validators.MinValueValidator(0.3),
                    django.core.validators.MaxValueValidator(1.0),
                ],
            ),
        ),
        migrations.RunPython(learned_weights, migrations.RunPython.noop),
    ]
