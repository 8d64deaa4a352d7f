"""Run the fake Paperless by hand.

python -m tests.fake_paperless --port 8111 --documents 500 --token abc
"""

from __future__ import annotations

import argparse
import time

from tests.fake_paperless import content
from tests.fake_paperless.server import FakePaperless


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="A fake Paperless-NGX server with generated documents."
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default loopback)"
    )
    parser.add_argument("--port", type=int, default=8111)
    parser.add_argument("--documents", type=int, default=500, help="documents to generate")
    parser.add_argument("--duplicate-ratio", type=float, default=0.1)
    parser.add_argument("--token", default="fake-paperless-token")
    parser.add_argument("--api-version", type=int, choices=(9, 10), default=10)
    parser.add_argument(
        "--thumbnail-pool",
        type=int,
        default=0,
        metavar="PAGES",
        help="serve thumbnails from PAGES pre-rendered pages instead of drawing one per document "
        "(benchmarks: the fake's drawing then costs nothing while serving)",
    )
    parser.add_argument(
        "--file-latency-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="answer each thumbnail, preview, download and metadata request after MS "
        "milliseconds, like a real server (a real Paperless took 62 ms for one thumbnail)",
    )
    parser.add_argument(
        "--corpus",
        choices=("heldout", "train", "all"),
        default=None,
        help="serve the labelled real-OCR corpus (its files from the corpus cache, see "
        "manage.py build_corpus) instead of generated documents",
    )
    args = parser.parse_args(argv)

    fake = FakePaperless(
        host=args.host, port=args.port, token=args.token, api_version=args.api_version
    )
    fake.file_latency = args.file_latency_ms / 1000
    started = time.monotonic()
    if args.thumbnail_pool:
        content.use_thumbnail_pool(args.thumbnail_pool)
    if args.corpus:
        from duplicates.evaluation.build import default_cache
        from duplicates.evaluation.dataset import read_rows

        rows = read_rows(split=None if args.corpus == "all" else args.corpus)
        count = len(fake.state.seed_corpus(rows, cache=default_cache()))
        what = f"the labelled corpus's {args.corpus} part ({count} documents)"
    else:
        result = fake.seed(documents=args.documents, duplicate_ratio=args.duplicate_ratio)
        what = (
            f"{len(result.document_ids)} documents ({len(result.duplicate_pairs)} planted "
            "duplicates)"
        )
    seconds = time.monotonic() - started
    fake.start()
    print(
        f"Fake Paperless (API {args.api_version}) at {fake.url} with {what}, "
        f"seeded in {seconds:.1f} s.\n"
        f"Use PAPERLESS_URL={fake.url} PAPERLESS_API_TOKEN={args.token}. Ctrl-C stops it.",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
