"""Print the engine's quality on the labelled real-OCR corpus beside two baselines, or on the
old synthetic corpus (``--synthetic``)."""

from __future__ import annotations

from dataclasses import replace

from django.core.management.base import BaseCommand, CommandError

from duplicates.engine import EngineConfig, ScoringConfig, quality
from duplicates.engine.scoring import FACTORS


class Command(BaseCommand):
    help = (
        "Pair precision, recall and F1 of the dedupe engine at the default settings: on the "
        "held-out part of the labelled real-OCR corpus (per variant, document type and hard "
        "negative, beside Paperless's fuzzy match and MinHash LSH), or on the synthetic corpus."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--split", choices=("heldout", "train"), default="heldout",
            help="which part of the real-OCR corpus (default: heldout; never tuned on)",
        )  # fmt: skip
        parser.add_argument("--no-baselines", action="store_true", help="the engine alone")
        parser.add_argument("--mistakes", type=int, default=10, help="worst mistakes shown")
        parser.add_argument("--synthetic", action="store_true", help="the old synthetic corpus")
        quality.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        unknown = set(options["disable"]) - set(FACTORS)
        if unknown:
            raise CommandError(f"unknown factors: {sorted(unknown)}; known: {FACTORS}")
        if options["synthetic"]:
            self.stdout.write(quality.report(
                seed=options["seed"], per_kind=options["per_kind"],
                background=options["background"], disable=options["disable"],
            ))  # fmt: skip
            return
        from duplicates.evaluation import quality as real

        scoring = ScoringConfig()
        scoring = replace(scoring, enabled=scoring.enabled - set(options["disable"]))
        report = real.run(
            split=options["split"], config=EngineConfig(workers=1, scoring=scoring),
            baselines=not options["no_baselines"],
        )  # fmt: skip
        self.stdout.write(report.text(limit=options["mistakes"]))
