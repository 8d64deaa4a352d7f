"""``manage.py groups_page_benchmark --documents N --groups G``: server time of the groups list.

Fills a throwaway database with N documents (names, tags, sizes, dates) and G duplicate groups of
2 to 4 members with every pair stored as an edge with realistic factors, then renders the list
page with the Django test client (logged in, the whole middleware stack) and prints, per
scenario, the median server time of a few runs, the number of queries and the response size:
500 groups per page sorted by confidence, the HTMX partial, filters, factor switches (re-scoring
every group), other sorts, the last page, ``/api/groups?limit=500`` and the dashboard.

The database is a fresh SQLite file in a temporary directory, or ``--database-url`` (PostgreSQL
preferred for 100k): a THROWAWAY database; it is migrated and, unless ``--reuse`` finds it
already filled with as many documents and groups, its documents and groups are replaced.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

SCENARIOS = [
    ("500 groups, by confidence", "/duplicates/?per_page=500", False),
    ("same, HTMX partial", "/duplicates/?per_page=500", True),
    ("filters (open, tag, fuzzy >= 0.8)", "/duplicates/?per_page=500&status=open&tag={tag}"
     "&min_fuzzy=0.8", True),
    ("2 factors off (re-score all)", "/duplicates/?per_page=500&off=image&off=title", True),
    ("sort by space to free", "/duplicates/?per_page=500&sort=-size", True),
    ("sort by date", "/duplicates/?per_page=500&sort=date", True),
    ("last page", "/duplicates/?per_page=500&page=last", True),
    ("API, limit 500", "/api/groups?limit=500", False),
    ("API, 2 factors off", "/api/groups?limit=500&off=image&off=title", False),
    ("dashboard", "/", False),
]  # fmt: skip


class Command(BaseCommand):
    help = "Time the duplicate groups page (500 per page) on N documents and G groups."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--documents", type=int, default=10_000)
        parser.add_argument("--groups", type=int, default=None, help="default: documents / 5")
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--database-url", default="", help="a THROWAWAY database (default: temporary SQLite)"
        )
        parser.add_argument("--reuse", action="store_true", help="keep a database already filled")
        parser.add_argument("--child", action="store_true", help=argparse_hidden())

    def handle(self, *args: Any, **options: Any) -> None:
        options["groups"] = options["groups"] or options["documents"] // 5
        if options["groups"] * 4 > options["documents"]:
            raise CommandError("Give at least 4 documents per group.")
        if options["child"]:
            self.stdout.write(json.dumps(self._child(options)))
            return
        self._parent(options)

    def _parent(self, options: dict[str, Any]) -> None:
        root = Path(settings.BASE_DIR)
        with tempfile.TemporaryDirectory(prefix="dedupe-groups-bench-") as data_dir:
            env = {
                **os.environ,
                "DEDUPE_ENVIRONMENT": "development",
                "DEDUPE_DATA_DIR": data_dir,
                "DATABASE_URL": options["database_url"] or f"sqlite:///{data_dir}/bench.db",
                "DEDUPE_LOG_LEVEL": "WARNING",
            }
            manage = [sys.executable, str(root / "manage.py")]
            migrate = subprocess.run(  # noqa: S603 - our own manage.py
                [*manage, "migrate", "-v", "0"],
                cwd=root, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if migrate.returncode != 0:
                raise CommandError(migrate.stderr[-3000:])
            args = [*manage, "groups_page_benchmark", "--child",
                    "--documents", str(options["documents"]), "--groups", str(options["groups"]),
                    "--runs", str(options["runs"]), "--seed", str(options["seed"])]  # fmt: skip
            if options["reuse"]:
                args.append("--reuse")
            child = subprocess.run(  # noqa: S603 - our own manage.py
                args, cwd=root, env=env, capture_output=True, text=True, check=False
            )
            if child.returncode != 0:
                raise CommandError(child.stderr[-3000:] or child.stdout[-3000:])
            result = json.loads(child.stdout.strip().splitlines()[-1])
        backend = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
        lines = [
            f"{options['documents']:,} documents, {result['groups']:,} groups "
            f"({result['members']:,} members, {result['edges']:,} edges) on {backend}; "
            f"fill {result['fill_seconds']:.1f} s" + (" (reused)" if result["reused"] else ""),
            f"{'scenario':<36} {'median ms':>10} {'min ms':>8} {'web CPU ms':>10} {'queries':>8} "
            f"{'KB':>8} groups",
        ]
        for row in result["scenarios"]:
            lines.append(
                f"{row['name']:<36} {row['median_ms']:>10.0f} {row['min_ms']:>8.0f} "
                f"{row['cpu_ms']:>10.0f} "
                f"{row['queries']:>8} {row['kb']:>8.0f} {row['groups']:>6}"
            )
        self.stdout.write("\n".join(lines))

    # --- child: runs with the throwaway database configured ---------------------------------------

    def _child(self, options: dict[str, Any]) -> dict[str, Any]:
        from documents.models import Document
        from duplicates.models import DuplicateGroup, GroupMember, PairEdge

        started = time.perf_counter()
        reused = (
            options["reuse"]
            and Document.objects.count() >= options["documents"]
            and DuplicateGroup.objects.count() >= options["groups"]
        )
        if not reused:
            fill(documents=options["documents"], groups=options["groups"], seed=options["seed"])
        fill_seconds = time.perf_counter() - started
        analyse_tables()
        return {
            "reused": reused,
            "fill_seconds": fill_seconds,
            "groups": DuplicateGroup.objects.count(),
            "members": GroupMember.objects.count(),
            "edges": PairEdge.objects.count(),
            "scenarios": measure(runs=options["runs"]),
        }


def analyse_tables() -> None:
    """Table statistics, as autovacuum keeps them on a real server: without them (bulk-filled
    tables, a server with autovacuum off) PostgreSQL plans 100k documents as a few thousand,
    picks hash joins over whole tables and JIT-compiles queries that take milliseconds."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE documents_document, documents_document_tags, duplicates_duplicategroup, "
            "duplicates_groupmember, duplicates_pairedge"
        )


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


def fill(*, documents: int, groups: int, seed: int) -> None:
    """Replace documents and groups with a synthetic library (bulk inserts)."""
    from django.db import transaction

    from documents.models import Correspondent, Document, DocumentType, Tag
    from duplicates.engine import ScoringConfig, confidence
    from duplicates.models import DuplicateGroup, GroupMember, PairEdge

    rng = random.Random(seed)
    scoring = ScoringConfig()
    with transaction.atomic():
        DuplicateGroup.objects.all().delete()
        PairEdge.objects.all().delete()
        Document.objects.all().delete()
        Tag.objects.all().delete()
        Correspondent.objects.all().delete()
        DocumentType.objects.all().delete()
        tags = Tag.objects.bulk_create(
            [Tag(paperless_id=i, name=f"Tag {i:03d}") for i in range(1, 201)]
        )
        correspondents = Correspondent.objects.bulk_create(
            [Correspondent(paperless_id=i, name=f"Correspondent {i:03d}") for i in range(1, 101)]
        )
        types = DocumentType.objects.bulk_create(
            [DocumentType(paperless_id=i, name=f"Type {i:02d}") for i in range(1, 31)]
        )
        epoch = date(2010, 1, 1)
        docs = [
            Document(
                pk=i,
                paperless_id=i,
                title=f"Document {i} " + rng.choice(["Rechnung", "Brief", "Vertrag", "Bescheid"]),
                correspondent=rng.choice(correspondents) if rng.random() < 0.8 else None,
                document_type=rng.choice(types) if rng.random() < 0.7 else None,
                created=epoch + timedelta(days=rng.randrange(5000)),
                original_size=rng.randrange(20_000, 5_000_000),
                archive_size=rng.randrange(20_000, 5_000_000),
                page_count=rng.randrange(1, 12),
                original_file_name=f"scan_{i}.pdf",
                thumbnail_needed=False,
            )
            for i in range(1, documents + 1)
        ]
        Document.objects.bulk_create(docs, batch_size=2000)
        through = Document.tags.through
        links = [
            through(document_id=i, tag_id=tag.pk)
            for i in range(1, documents + 1)
            for tag in rng.sample(tags, rng.randrange(0, 4))
        ]
        through.objects.bulk_create(links, batch_size=5000)

        order = list(range(1, documents + 1))
        rng.shuffle(order)
        position = 0
        statuses = ["new"] * 7 + ["reviewed", "resolved", "not_duplicate"]
        rows, memberships, edges = [], [], []
        for _ in range(groups):
            size = rng.choice([2, 2, 2, 3, 3, 4])
            members = order[position : position + size]
            position += size
            rows.append((members, rng.choice(statuses)))
        group_objects = DuplicateGroup.objects.bulk_create(
            [DuplicateGroup(status=status, member_count=len(m)) for m, status in rows],
            batch_size=2000,
        )
        updates = []
        for group, (members, _status) in zip(group_objects, rows, strict=True):
            primary = members[0]
            scores = {}
            for index, a in enumerate(members):
                for b in members[index + 1 :]:
                    factors = _factors(rng)
                    score = confidence(factors, config=scoring)
                    low, high = sorted((a, b))
                    edges.append(PairEdge(a_id=low, b_id=high, factors=factors, confidence=score))
                    if primary in (a, b):
                        scores[b if a == primary else a] = score
            for doc_id in members:
                memberships.append(
                    GroupMember(
                        group=group,
                        document_id=doc_id,
                        is_primary=doc_id == primary,
                        confidence=scores.get(doc_id),
                    )
                )
            group.primary_id = primary
            group.confidence = min(scores.values())
            updates.append(group)
        DuplicateGroup.objects.bulk_update(updates, ["primary", "confidence"], batch_size=2000)
        GroupMember.objects.bulk_create(memberships, batch_size=5000)
        PairEdge.objects.bulk_create(edges, batch_size=5000)


def _factors(rng: random.Random) -> dict[str, float | None]:
    def near(top: float) -> float:
        return round(min(1.0, max(0.0, rng.gauss(top, 0.05))), 4)

    return {
        "jaccard": near(0.85), "fuzzy": near(0.95), "containment": near(0.9),
        "image": near(0.9), "correspondent": rng.choice([1.0, 1.0, 0.0, None]),
        "document_type": rng.choice([1.0, 0.0, None]), "created": near(0.9),
        "page_count": rng.choice([1.0, 0.5]), "size": near(0.8), "title": near(0.8),
        "filename": near(0.6), "checksum": 0.0, "discriminative": rng.choice([1.0, None]),
        "text_reliable": 1.0, "length_ratio": near(0.95),
    }  # fmt: skip


def measure(*, runs: int) -> list[dict[str, Any]]:
    import re

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from documents.models import Tag

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user, _ = get_user_model().objects.get_or_create(
        username="benchmark", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    tag = Tag.objects.order_by("pk").values_list("pk", flat=True).first()
    results = []
    for name, url, htmx in SCENARIOS:
        url = url.replace("{tag}", str(tag))
        if "page=last" in url:
            from duplicates.models import DuplicateGroup

            url = url.replace("page=last", f"page={-(-DuplicateGroup.objects.count() // 500)}")
        headers = {"HX-Request": "true"} if htmx else {}
        timings, cpu, queries, size, body = [], [], 0, 0, b""
        for run in range(runs + 1):
            with CaptureQueriesContext(connection) as captured:
                started, cpu_started = time.perf_counter(), time.process_time()
                response = client.get(url, headers=headers)
                body = (
                    b"".join(response.streaming_content)
                    if response.streaming
                    else (response.content)
                )
                elapsed = time.perf_counter() - started
                cpu_used = time.process_time() - cpu_started
            if response.status_code != 200:
                raise CommandError(f"{url}: HTTP {response.status_code}: {body[:500]!r}")
            if run:  # the first run warms caches and connections
                timings.append(elapsed * 1000)
                cpu.append(cpu_used * 1000)
            queries, size = len(captured.captured_queries), len(body)
        text = body.decode()
        shown = len(re.findall(r'id="group-\d+"', text)) or text.count('"stored_confidence"')
        results.append(
            {
                "name": name,
                "median_ms": statistics.median(timings),
                "min_ms": min(timings),
                "cpu_ms": statistics.median(cpu),
                "queries": queries,
                "kb": size / 1024,
                "groups": shown,
            }
        )
    return results
