"""Fit the scoring model on the training part of the labelled real-OCR corpus."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from duplicates.engine.model import MODEL_PATH, default_model


class Command(BaseCommand):
    help = (
        "Fit the additive logistic scoring model, its threshold and link floor on the training "
        "part of the real-OCR corpus (needs scikit-learn: pip install -e '.[dev]'), print what "
        "it learned, and write duplicates/engine/model.json (with --write)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--write", action="store_true", help=f"write {MODEL_PATH.name}")

    def handle(self, *args, **options) -> None:
        from duplicates.evaluation.calibrate import calibrate, describe

        model = calibrate(base=default_model(), progress=lambda line: self.stdout.write(line))
        self.stdout.write(describe(model))
        if options["write"]:
            model.save()
            self.stdout.write(f"wrote {MODEL_PATH}")
