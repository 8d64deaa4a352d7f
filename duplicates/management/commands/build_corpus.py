"""Build the labelled real-OCR corpus (cached) and write its dataset."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from duplicates.evaluation import build
from duplicates.evaluation.render import MissingTool


class Command(BaseCommand):
    help = (
        "Render, rasterise, degrade and OCR (tesseract, OCRmyPDF) every document of the labelled "
        "corpus, reusing what the cache holds, and write duplicates/evaluation/data/"
        "real-ocr-corpus.json.gz. A first build takes 30-60 minutes on two cores."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--cache", type=Path, default=None,
            help="file cache (default: DEDUPE_CORPUS_CACHE or ~/.cache/...)",
        )  # fmt: skip
        parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
        parser.add_argument(
            "--only", action="append", default=None, metavar="KEY_PREFIX",
            help="build only these sources; the dataset is not written",
        )  # fmt: skip

    def handle(self, *args, **options) -> None:
        try:
            build.build(
                cache=options["cache"], workers=options["workers"], limit=options["only"],
                output=None if options["only"] else build.DATASET,
                progress=lambda line: self.stdout.write(line),
            )  # fmt: skip
        except MissingTool as error:
            raise CommandError(str(error)) from error
