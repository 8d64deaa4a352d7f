"""The analysis's bulk writes as raw, parameterised SQL: sketches, edges, "analysed" flags.

Why raw SQL: ``bulk_create(update_conflicts=True)`` builds a model instance per row and compiles
every value through the fields and the SQL compiler. Measured on PostgreSQL at 10k documents, the
checkpoints of a full analysis spent 2.9 s writing 9k sketches and 1.6 s writing 2.3k edges
(plus the look-ups of text fingerprints and of documents still alive) -- more than half of the
run. Here one statement writes a whole checkpoint's rows:

* PostgreSQL (psycopg 3, server-side binding on Django's connection, so in its transaction):
  sketches as ``unnest`` of a ``bigint[]`` and a binary ``bytea[]``; edges as one JSON payload
  read by ``json_to_recordset`` (their factors are JSON anyway);
* SQLite: ``executemany`` of one prepared statement (the loop runs in C in the driver).

Rows of documents deleted meanwhile are skipped in SQL (sketches join the document for its text
fingerprint, edges require both documents), so no separate look-up is needed. Values are bound;
only identifiers from the models' ``_meta`` are put in the SQL text.
"""

# ruff: noqa: S608 - the SQL text holds only identifiers from the models' _meta; values are bound.
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connections

from documents.models import Document, DocumentContent
from duplicates.engine import PairScore
from duplicates.models import DocumentSketch, DuplicateGroup, GroupMember, PairEdge

IN_CHUNK = 900  # ids per IN (...) on SQLite (999 parameters on old builds)


def _column(model: type, name: str) -> str:
    return model._meta.get_field(name).column


class AnalysisWriter:
    """Bulk writes of one analysis through one database connection (call inside a transaction
    when the rows must commit together with something else, e.g. a checkpoint's cursor)."""

    def __init__(self, using: str = "default") -> None:
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        if self.connection.vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(f"no analysis writer for {self.connection.vendor}")
        qn = self.connection.ops.quote_name
        self.documents = qn(Document._meta.db_table)
        self.doc_pk = qn(Document._meta.pk.column)
        self.doc_fingerprint = qn(_column(Document, "text_fingerprint"))
        self.doc_needs = qn(_column(Document, "needs_analysis"))
        self.doc_synced = qn(_column(Document, "last_synced_at"))
        self.sketches_table = qn(DocumentSketch._meta.db_table)
        self.sketch_columns = [
            qn(_column(DocumentSketch, name))
            for name in ("document", "blob", "params_key", "text_fingerprint", "computed_at")
        ]
        self.edges_table = qn(PairEdge._meta.db_table)
        self.edge_columns = [
            qn(_column(PairEdge, name))
            for name in ("a", "b", "factors", "confidence", "sources", "computed_at", "run_id")
        ]

    # --- helpers ----------------------------------------------------------------------------

    def _pg_cursor(self) -> Any:
        """A server-side-binding psycopg cursor on Django's connection (same transaction)."""
        import psycopg

        self.connection.ensure_connection()
        return psycopg.Cursor(self.connection.connection)

    def _datetime(self, value: datetime) -> Any:
        if self.postgres:
            return value
        return self.connection.ops.adapt_datetimefield_value(value)

    @staticmethod
    def _upsert_set(columns: Sequence[str]) -> str:
        return ", ".join(f"{c} = excluded.{c}" for c in columns)

    def relax_durability(self) -> None:
        """For this transaction only, do not wait for the commit to reach the disk (PostgreSQL
        ``synchronous_commit``). Safe here as in the sync: the rows commit together with the
        cursor (or the cleared flags) that says they exist, so a database crash can only lose
        both, and the run is resumed (or the documents compared) again."""
        if self.postgres:
            with self._pg_cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")

    # --- writes -----------------------------------------------------------------------------

    def sketches(
        self, items: Iterable[tuple[int, bytes]], *, params_key: str, now: datetime
    ) -> int:
        """Insert or replace ``(document pk, blob)`` sketches, each with its document's present
        text fingerprint; returns how many were written (deleted documents are skipped)."""
        latest = dict(items)
        if not latest:
            return 0
        doc_col, blob, key, fingerprint, at = self.sketch_columns
        update = self._upsert_set([blob, key, fingerprint, at])
        insert = (
            f"INSERT INTO {self.sketches_table} ({doc_col}, {blob}, {key}, {fingerprint}, {at})"
        )
        if self.postgres:
            sql = (
                f"{insert} SELECT s.id, s.blob, %s, d.{self.doc_fingerprint}, %s "
                f"FROM unnest(%b::bigint[], %b::bytea[]) AS s(id, blob) "
                f"JOIN {self.documents} d ON d.{self.doc_pk} = s.id "
                f"ON CONFLICT ({doc_col}) DO UPDATE SET {update}"
            )
            with self._pg_cursor() as cursor:
                cursor.execute(sql, [params_key, now, list(latest), list(latest.values())])
                return max(cursor.rowcount, 0)
        sql = (
            f"{insert} SELECT d.{self.doc_pk}, %s, %s, d.{self.doc_fingerprint}, %s "
            f"FROM {self.documents} d WHERE d.{self.doc_pk} = %s "
            f"ON CONFLICT ({doc_col}) DO UPDATE SET {update}"
        )
        stamp = self._datetime(now)
        with self.connection.cursor() as cursor:
            before = self.connection.connection.total_changes
            cursor.executemany(
                sql, [(value, params_key, stamp, doc_id) for doc_id, value in latest.items()]
            )
            return self.connection.connection.total_changes - before

    def edges(self, edges: Iterable[PairScore], *, run_id: int | None, now: datetime) -> int:
        """Insert or replace edges by pair (the confidence rounded to 6 places, as stored);
        edges of documents deleted meanwhile are skipped. Returns how many were written."""
        latest = {(e.a, e.b): e for e in edges}
        if not latest:
            return 0
        a, b, factors, score, sources, at, run = self.edge_columns
        update = self._upsert_set([factors, score, sources, at, run])
        insert = (
            f"INSERT INTO {self.edges_table} ({a}, {b}, {factors}, {score}, {sources}, {at}, {run})"
        )
        if self.postgres:
            payload = json.dumps(
                [
                    {"a": e.a, "b": e.b, "f": e.factors, "c": round(e.confidence, 6),
                     "s": list(e.sources)}
                    for e in latest.values()
                ]
            )  # fmt: skip
            sql = (
                f"{insert} SELECT r.a, r.b, r.f, r.c, r.s, %s, %s "
                f"FROM json_to_recordset(%s::json) AS r(a bigint, b bigint, f jsonb, c float8, "
                f"s jsonb) "
                f"WHERE EXISTS (SELECT 1 FROM {self.documents} d WHERE d.{self.doc_pk} = r.a) "
                f"AND EXISTS (SELECT 1 FROM {self.documents} d WHERE d.{self.doc_pk} = r.b) "
                f"ON CONFLICT ({a}, {b}) DO UPDATE SET {update}"
            )
            with self._pg_cursor() as cursor:
                cursor.execute(sql, [now, run_id, payload])
                return max(cursor.rowcount, 0)
        sql = (
            f"{insert} SELECT %s, %s, %s, %s, %s, %s, %s "
            f"WHERE EXISTS (SELECT 1 FROM {self.documents} WHERE {self.doc_pk} = %s) "
            f"AND EXISTS (SELECT 1 FROM {self.documents} WHERE {self.doc_pk} = %s) "
            f"ON CONFLICT ({a}, {b}) DO UPDATE SET {update}"
        )
        stamp = self._datetime(now)
        rows = [
            (e.a, e.b, json.dumps(e.factors), round(e.confidence, 6), json.dumps(list(e.sources)),
             stamp, run_id, e.a, e.b)
            for e in latest.values()
        ]  # fmt: skip
        with self.connection.cursor() as cursor:
            before = self.connection.connection.total_changes
            cursor.executemany(sql, rows)
            return self.connection.connection.total_changes - before

    def create_groups(self, rows: Sequence[tuple[float, int, int]], *, now: datetime) -> list[int]:
        """New groups (status "new") from ``(confidence, primary pk, member count)``; returns
        their pks in the same order. Primaries are distinct (a document is in one new group)."""
        if not rows:
            return []
        if not self.postgres:  # SQLite: executemany cannot return the new pks
            created = DuplicateGroup.objects.bulk_create(
                [
                    DuplicateGroup(confidence=confidence, primary_id=primary, member_count=count,
                                   created_at=now, updated_at=now, members_changed_at=now)
                    for confidence, primary, count in rows
                ],
                batch_size=500,
            )  # fmt: skip
            return [group.pk for group in created]
        qn = self.connection.ops.quote_name
        names = ("status", "confidence", "primary_chosen", "member_count", "created_at",
                 "updated_at", "members_changed_at", "primary")  # fmt: skip
        columns = ", ".join(qn(_column(DuplicateGroup, name)) for name in names)
        pk, primary = qn(DuplicateGroup._meta.pk.column), qn(_column(DuplicateGroup, "primary"))
        sql = (
            f"INSERT INTO {qn(DuplicateGroup._meta.db_table)} ({columns}) "
            f"SELECT %s, s.c, false, s.n, %s, %s, %s, s.p "
            f"FROM unnest(%b::float8[], %b::int[], %b::bigint[]) AS s(c, n, p) "
            f"RETURNING {pk}, {primary}"
        )
        confidences, primaries, counts = (list(column) for column in zip(*rows, strict=True))
        with self._pg_cursor() as cursor:
            cursor.execute(
                sql,
                [DuplicateGroup.Status.NEW.value, now, now, now, confidences, counts, primaries],
            )
            by_primary = {primary_id: group_id for group_id, primary_id in cursor.fetchall()}
        return [by_primary[primary_id] for primary_id in primaries]

    def create_members(
        self,
        rows: Sequence[tuple[int, int, float | None, bool, datetime | None]],
        *,
        now: datetime,
    ) -> None:
        """Active group members from ``(group pk, document pk, confidence, is primary, joined
        at)``; a missing join time is ``now``."""
        if not rows:
            return
        qn = self.connection.ops.quote_name
        names = ("group", "document", "confidence", "is_primary", "removed", "added_at")
        columns = ", ".join(qn(_column(GroupMember, name)) for name in names)
        insert = f"INSERT INTO {qn(GroupMember._meta.db_table)} ({columns}) "
        if self.postgres:
            groups, docs, scores, primary, joined = (list(c) for c in zip(*rows, strict=True))
            sql = (
                f"{insert} SELECT s.g, s.d, s.c, s.p, false, COALESCE(s.j::timestamptz, %s) "
                f"FROM unnest(%b::bigint[], %b::bigint[], %b::float8[], %b::bool[], %s::text[]) "
                f"AS s(g, d, c, p, j)"
            )
            texts = [None if value is None else value.isoformat() for value in joined]
            with self._pg_cursor() as cursor:
                cursor.execute(sql, [now, groups, docs, scores, primary, texts])
            return
        stamp = self._datetime(now)
        with self.connection.cursor() as cursor:
            cursor.executemany(
                f"{insert} VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (group, doc, score, primary, False,
                     stamp if joined is None else self._datetime(joined))
                    for group, doc, score, primary, joined in rows
                ],
            )  # fmt: skip

    def mark_analysed(self, ids: Sequence[int], *, started: datetime) -> None:
        """Clear ``needs_analysis`` of the documents ``ids`` unless the sync touched them after
        ``started`` (rows already clear are not rewritten)."""
        if not ids:
            return
        sql = (
            f"UPDATE {self.documents} SET {self.doc_needs} = %s WHERE {self.doc_needs} "
            f"AND {self.doc_synced} <= %s AND {self.doc_pk} {{member}}"
        )
        stamp = self._datetime(started)
        if self.postgres:
            with self._pg_cursor() as cursor:
                cursor.execute(sql.format(member="= ANY(%s::bigint[])"), [False, stamp, list(ids)])
            return
        with self.connection.cursor() as cursor:
            for start in range(0, len(ids), IN_CHUNK):
                part = list(ids[start : start + IN_CHUNK])
                member = f"IN ({', '.join(['%s'] * len(part))})"
                cursor.execute(sql.format(member=member), [False, stamp, *part])


class AnalysisReader:
    """Bulk reads of one analysis as plain tuples through one raw cursor (no model instances,
    no per-value field conversion; on PostgreSQL results come in binary, so blobs arrive as
    ``bytes`` without hex decoding)."""

    def __init__(self, using: str = "default") -> None:
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        qn = self.connection.ops.quote_name
        self.qn = qn
        self.documents = qn(Document._meta.db_table)
        self.sketches_table = qn(DocumentSketch._meta.db_table)
        self.edges_table = qn(PairEdge._meta.db_table)

    def rows(self, sql: str, params: Sequence[Any], *, size: int = 10_000) -> Iterable[tuple]:
        """The rows of ``sql`` (``%s`` placeholders), fetched ``size`` at a time."""
        if self.postgres:
            import psycopg

            self.connection.ensure_connection()
            with psycopg.Cursor(self.connection.connection) as cursor:
                cursor.execute(sql, params, binary=True)
                while batch := cursor.fetchmany(size):
                    yield from batch
            return
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(size):
                yield from batch

    def library(self, *, params_key: str) -> Iterable[tuple]:
        """``(document pk, needs analysis, blob, original checksum, archive checksum, phash,
        layout)`` of every document; ``blob`` is None unless its stored sketch was made with
        ``params_key`` from its present text. One scan (a hash join) tells the documents to
        compare and gives the index of all the others: at 100k documents the ORM's NOT EXISTS
        for the first took 2 s and the ORM's read of the second 3 s."""
        qn = self.qn
        sketch_fields = ("document", "blob", "params_key", "text_fingerprint")
        doc_fields = ("needs_analysis", "original_checksum", "archive_checksum", "phash",
                      "layout", "text_fingerprint")  # fmt: skip
        sketch = {name: qn(_column(DocumentSketch, name)) for name in sketch_fields}
        doc = {name: qn(_column(Document, name)) for name in doc_fields}
        pk = qn(Document._meta.pk.column)
        sql = (
            f"SELECT d.{pk}, d.{doc['needs_analysis']}, s.{sketch['blob']}, "
            f"d.{doc['original_checksum']}, d.{doc['archive_checksum']}, d.{doc['phash']}, "
            f"d.{doc['layout']} FROM {self.documents} d LEFT JOIN {self.sketches_table} s "
            f"ON s.{sketch['document']} = d.{pk} AND s.{sketch['params_key']} = %s "
            f"AND s.{sketch['text_fingerprint']} = d.{doc['text_fingerprint']}"
        )
        return self.rows(sql, [params_key], size=100_000)

    def features(self, ids: Sequence[int] | None = None, *, page: int = 2000) -> Iterable[tuple]:
        """PostgreSQL only: per document (all, in pk order, or ``ids``) the columns of
        ``FEATURE_FIELDS``, its stored sketch blob and params key, and its text."""
        qn = self.qn
        doc_columns = ", ".join(f"d.{qn(_column(Document, name))}" for name in FEATURE_FIELDS)
        pk = qn(Document._meta.pk.column)
        sketch_doc = qn(_column(DocumentSketch, "document"))
        content_doc = qn(_column(DocumentContent, "document"))
        sql = (
            f"SELECT d.{pk}, {doc_columns}, s.{qn(_column(DocumentSketch, 'blob'))}, "
            f"s.{qn(_column(DocumentSketch, 'params_key'))}, "
            f"c.{qn(_column(DocumentContent, 'text'))} "
            f"FROM {self.documents} d "
            f"LEFT JOIN {self.sketches_table} s ON s.{sketch_doc} = d.{pk} "
            f"LEFT JOIN {qn(DocumentContent._meta.db_table)} c ON c.{content_doc} = d.{pk} "
        )
        if ids is not None:
            return self.rows(f"{sql} WHERE d.{pk} = ANY(%s::bigint[])", [list(ids)])
        return self._pages(f"{sql} WHERE d.{pk} > %s ORDER BY d.{pk} LIMIT {int(page)}")

    def _pages(self, sql: str) -> Iterable[tuple]:
        """Every row of ``sql`` (keyset-paged on its first column and only parameter), so the
        texts of the whole library are never one result in the client's memory."""
        last = -(2**63)
        while True:
            rows = list(self.rows(sql, [last]))
            yield from rows
            if not rows:
                return
            last = rows[-1][0]

    def tag_counts(self, ids: Sequence[int] | None = None) -> dict[int, int]:
        """Tags per document (all, or ``ids``; documents without tags left out)."""
        through = Document.tags.through
        document = self.qn(_column(through, "document"))
        sql = f"SELECT {document}, COUNT(*) FROM {self.qn(through._meta.db_table)}"
        if ids is None:
            return dict(self.rows(f"{sql} GROUP BY 1", []))
        return dict(self.rows(f"{sql} WHERE {document} = ANY(%s::bigint[]) GROUP BY 1", [ids]))

    def strong_edges(self, *, threshold: float) -> list[tuple[int, int, float]]:
        """``(a, b, confidence)`` of every edge at or above ``threshold``."""
        qn = self.qn
        a, b, score = (qn(_column(PairEdge, name)) for name in ("a", "b", "confidence"))
        sql = f"SELECT {a}, {b}, {score} FROM {self.edges_table} WHERE {score} >= %s"
        return list(self.rows(sql, [threshold], size=100_000))

    def active_memberships(self, *, skip_status: str) -> list[tuple[int, int]]:
        """``(group pk, document pk)`` of the active members of every group whose status is
        not ``skip_status``."""
        qn = self.qn
        group_pk = qn(DuplicateGroup._meta.pk.column)
        member = {name: qn(_column(GroupMember, name)) for name in ("group", "document", "removed")}
        sql = (
            f"SELECT m.{member['group']}, m.{member['document']} "
            f"FROM {qn(GroupMember._meta.db_table)} m JOIN {qn(DuplicateGroup._meta.db_table)} g "
            f"ON g.{group_pk} = m.{member['group']} "
            f"WHERE NOT m.{member['removed']} AND g.{qn(_column(DuplicateGroup, 'status'))} <> %s"
        )
        return list(self.rows(sql, [skip_status], size=100_000))

    def columns(self, ids: Sequence[int], fields: Sequence[str]) -> Iterable[tuple]:
        """PostgreSQL only: ``(pk, *fields)`` of the documents ``ids``."""
        qn = self.qn
        columns = ", ".join(qn(_column(Document, name)) for name in fields)
        pk = qn(Document._meta.pk.column)
        sql = f"SELECT {pk}, {columns} FROM {self.documents} WHERE {pk} = ANY(%s::bigint[])"
        return self.rows(sql, [list(ids)])


FEATURE_FIELDS = (
    "original_checksum",
    "archive_checksum",
    "correspondent",
    "document_type",
    "created",
    "added",
    "page_count",
    "original_size",
    "archive_size",
    "title",
    "original_file_name",
    "archived_file_name",
    "dhash",
    "phash",
    "layout",
    "text_fingerprint",
)
