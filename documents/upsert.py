"""The sync's page writes as raw, parameterised SQL: one upsert per page for documents, their text
and their tag links, on SQLite and PostgreSQL.

Why raw SQL here (and only here): ``bulk_create(update_conflicts=True)`` builds a model object per
row and then compiles every one of its ~30 values through ``Field.get_db_prep_save`` and the SQL
compiler; measured, that was three quarters of the sync's own time, making a sync of 10k documents
four times slower than merely downloading them. Here values are adapted once per *column* (only
datetimes on SQLite and JSON need it) and sent in one statement per table and page:

* SQLite: ``executemany`` of one prepared ``INSERT`` (new documents) or
  ``INSERT ... ON CONFLICT (paperless_id) DO UPDATE`` (changed ones); the loop runs in C inside
  the driver;
* PostgreSQL (psycopg 3): new documents, their texts and tag links by binary ``COPY`` (the
  documents' ids drawn from the sequence first); changed documents by one upsert from
  ``json_to_recordset``, their texts and links from ``unnest`` of binary arrays (no quoting of
  megabytes of text in Python).

Every value is a bound parameter; only identifiers (taken from the models' ``_meta``) are put in
the SQL text. What the upsert keeps of the old row is decided in SQL (``ON CONFLICT DO UPDATE``
expressions), so the caller does not have to read those columns first:

* ``content_changed_at``: a NULL keeps the old value (text unchanged);
* ``original_checksum``: an empty one keeps the old value (Paperless did not send versions);
* ``needs_analysis`` / ``thumbnail_needed``: once set they stay set until the analysis or the
  files phase clears them.
"""

# ruff: noqa: S608 - the SQL text holds only identifiers from the models' _meta; values are bound.
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from documents.models import Document, DocumentContent

NO_VERSIONS: list[dict[str, Any]] = []  # never changed: the default of ``DocumentRow.versions``


class DocumentRow(NamedTuple):
    """One document's column values as the sync computed them (Python values, aware datetimes)."""

    paperless_id: int
    title: str
    correspondent_id: int | None
    document_type_id: int | None
    storage_path_id: int | None
    created: date | None
    added: datetime | None
    modified: datetime | None
    archive_serial_number: int | None
    original_file_name: str
    archived_file_name: str
    original_checksum: str
    page_count: int | None
    mime_type: str
    owner_id: int | None
    notes_count: int
    custom_fields: Any
    is_version: bool
    content_length: int
    text_fingerprint: str
    content_changed_at: datetime | None
    needs_analysis: bool
    thumbnail_needed: bool
    sync_error: str
    last_synced_at: datetime
    first_synced_at: datetime
    root_paperless_id: int | None = None
    versions: Any = NO_VERSIONS


class Existing(NamedTuple):
    """What the sync needs to know of a document already mirrored."""

    pk: int
    modified: Any  # in the database's own form: compare with ``PageWriter.modified_key``
    text_fingerprint: str
    sync_error: str


# Columns a new row gets as '' (the files phase fills them).
INSERT_DEFAULTS = ("thumbnail_etag", "archive_checksum")
# Columns written when a row already exists; the rest of ``DocumentRow`` is insert-only.
MIRROR_LOCK_KEY = 0x6465_6475_7065  # "dedupe": pg_advisory_xact_lock key of the mirror's writes
IN_CHUNK = 900  # ids per IN (...) list: SQLite allows 999 parameters on old builds
INSERT_ONLY = frozenset({"paperless_id", "first_synced_at"})
# ON CONFLICT expressions that keep something of the old row ({t}: the table, {c}: the column).
KEEP_OLD = {
    "content_changed_at": "COALESCE(excluded.{c}, {t}.{c})",
    "original_checksum": "CASE WHEN excluded.{c} = '' THEN {t}.{c} ELSE excluded.{c} END",
    "needs_analysis": "(excluded.{c} OR {t}.{c})",
    "thumbnail_needed": "(excluded.{c} OR {t}.{c})",
}


def _column(model: type, name: str) -> str:
    return model._meta.get_field(name).column


class PageWriter:
    """Writes pages of documents for the sync through one database connection (call inside a
    transaction: a page and its cursor commit together)."""

    def __init__(self, using: str = "default") -> None:
        self.connection: BaseDatabaseWrapper = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        self._sqlite_tz = None if self.postgres else (self.connection.timezone or UTC)
        if self.connection.vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(f"no page writer for {self.connection.vendor}")
        qn = self.connection.ops.quote_name
        self._qn = qn
        self.table = qn(Document._meta.db_table)
        self.columns = [_column(Document, name) for name in DocumentRow._fields]
        self.db_types = [
            Document._meta.get_field(name).db_type(self.connection) for name in DocumentRow._fields
        ]
        self._json_columns = [
            i
            for i, name in enumerate(DocumentRow._fields)
            if Document._meta.get_field(name).get_internal_type() == "JSONField"
        ]
        self._datetime_columns = [
            i
            for i, name in enumerate(DocumentRow._fields)
            if Document._meta.get_field(name).get_internal_type() == "DateTimeField"
        ]
        self._date_columns = [
            i
            for i, name in enumerate(DocumentRow._fields)
            if Document._meta.get_field(name).get_internal_type() == "DateField"
        ]
        self._insert_sql, self._upsert_sql = self._document_sql()
        # COPY ... FROM STDIN (FORMAT BINARY) of new rows on PostgreSQL: the id first (drawn from
        # the table's sequence), then the row, then the insert-only defaults.
        self._copy_sql = (
            f"COPY {self.table} ({qn(Document._meta.pk.column)}, "
            f"{', '.join(qn(c) for c in self.columns)}, {', '.join(map(qn, INSERT_DEFAULTS))}) "
            "FROM STDIN (FORMAT BINARY)"
        )
        self._copy_types = [
            "bigint",
            *(db_type.split("(")[0] for db_type in self.db_types),
            *("text" for _ in INSERT_DEFAULTS),
        ]
        through = Document.tags.through
        self.through_table = qn(through._meta.db_table)
        self.through_document = qn(_column(through, "document"))
        self.through_tag = qn(_column(through, "tag"))
        self.content_table = qn(DocumentContent._meta.db_table)
        self.content_document = qn(_column(DocumentContent, "document"))
        self.content_text = qn(_column(DocumentContent, "text"))

    # --- value adaptation, once per column --------------------------------------------------------

    def modified_key(self, value: datetime | None) -> Any:
        """``value`` in the form ``existing()`` returns ``modified`` in, for comparison."""
        if value is None or self.postgres:
            return value
        return self._sqlite_datetime(value)

    def _sqlite_datetime(self, value: datetime) -> str:
        # What Django's SQLite backend stores (``adapt_datetimefield_value``): naive, in the
        # connection's time zone (UTC with USE_TZ), as ``str(datetime)``.
        if value.tzinfo is not None:
            if value.tzinfo is not self._sqlite_tz:
                value = value.astimezone(self._sqlite_tz)
            value = value.replace(tzinfo=None)
        return str(value)

    def _sqlite_columns(self, rows: Sequence[DocumentRow]) -> list[list[Any]]:
        """``rows`` as one list per column, adapted as Django's SQLite backend stores them."""
        columns = [list(column) for column in zip(*rows, strict=True)]
        for i in self._json_columns:
            columns[i] = [None if v is None else _dumps(v) for v in columns[i]]
        for i in self._datetime_columns:
            columns[i] = _adapt_each(columns[i], self._sqlite_datetime)
        for i in self._date_columns:
            columns[i] = _adapt_each(columns[i], date.isoformat)
        return columns

    def _postgres_json(self, rows: Sequence[DocumentRow]) -> str:
        """``rows`` as one JSON text for ``json_to_recordset``. Measured: psycopg dumps a
        1000-element timestamptz array in ~10 ms (five of them a page) and a text array in
        ~2.5 ms; the C JSON encoder does the whole page in a few, and PostgreSQL parses it
        as fast. Datetimes go as ISO 8601 with their offset, so the session time zone does not
        matter."""
        columns = [list(column) for column in zip(*rows, strict=True)]
        for i in self._datetime_columns:
            columns[i] = _adapt_each(columns[i], datetime.isoformat)
        for i in self._date_columns:
            columns[i] = _adapt_each(columns[i], date.isoformat)
        names = self.columns
        return _dumps([dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)])

    # --- SQL ------------------------------------------------------------------------------------

    def _document_sql(self) -> tuple[str, str]:
        """The INSERT of a page of ``DocumentRow``, and the same as an upsert."""
        qn, table = self._qn, self.table
        quoted = [qn(c) for c in self.columns]
        updates = []
        for name, column in zip(DocumentRow._fields, quoted, strict=True):
            if name in INSERT_ONLY:
                continue
            expression = KEEP_OLD.get(name, "excluded.{c}").format(t=table, c=column)
            updates.append(f"{column} = {expression}")
        # Insert-only columns with no value from Paperless: what the model's defaults give.
        defaults = ", ".join(qn(c) for c in INSERT_DEFAULTS)
        if self.postgres:
            record = ", ".join(
                f"{column} {db_type}" for column, db_type in zip(quoted, self.db_types, strict=True)
            )
            source = (
                f"SELECT {', '.join(f's.{c}' for c in quoted)}, '', '' "
                f"FROM json_to_recordset(%s::json) AS s({record})"
            )
        else:
            source = f"VALUES ({', '.join(['%s'] * len(quoted))}, '', '')"
        insert = f"INSERT INTO {table} ({', '.join(quoted)}, {defaults}) {source}"
        conflict = f"ON CONFLICT ({qn(_column(Document, 'paperless_id'))}) DO UPDATE SET "
        return insert, f"{insert} {conflict}{', '.join(updates)}"

    def _pg_cursor(self) -> Any:
        """A server-side-binding psycopg cursor on Django's connection (same transaction):
        arrays go binary, and megabytes of text are never quoted in Python."""
        import psycopg

        self.connection.ensure_connection()
        return psycopg.Cursor(self.connection.connection)

    def _run(self, sql: str, columns: list[list[Any]]) -> None:
        """One statement for many rows: ``columns`` (equal-length lists) are bound as one array
        each on PostgreSQL, as one row per index with ``executemany`` on SQLite."""
        if not columns or not columns[0]:
            return
        if self.postgres:
            with self._pg_cursor() as cursor:
                cursor.execute(sql, columns)
        else:
            with self.connection.cursor() as cursor:
                cursor.executemany(sql, list(zip(*columns, strict=True)))

    def _in_list(
        self, sql: str, values: list[int], params: Sequence[Any] = (), *, fetch: bool = True
    ) -> list[tuple]:
        """Run ``sql`` whose ``{member}`` placeholder follows a column, for the ids ``values``:
        ``= ANY(array)`` on PostgreSQL (one parameter), ``IN (...)`` in chunks below SQLite's
        parameter limit. Returns the rows when ``fetch``."""
        rows: list[tuple] = []
        if self.postgres:
            with self._pg_cursor() as cursor:
                cursor.execute(sql.format(member="= ANY(%b::bigint[])"), [*params, values])
                return cursor.fetchall() if fetch else rows
        with self.connection.cursor() as cursor:
            for start in range(0, len(values), IN_CHUNK):
                chunk = values[start : start + IN_CHUNK]
                member = f"IN ({', '.join(['%s'] * len(chunk))})"
                cursor.execute(sql.format(member=member), [*params, *chunk])
                if fetch:
                    rows.extend(cursor.fetchall())
        return rows

    def relax_durability(self) -> None:
        """For this transaction only, do not wait for the commit to reach the disk (PostgreSQL
        ``synchronous_commit``; SQLite in WAL mode with ``synchronous=NORMAL`` already does not).
        Safe for the mirror: a page commits together with the cursor that follows it, so a
        crash can only lose both, and the next run reads that page again. Measured: ~60 ms a
        page of waiting for the WAL flush."""
        if self.postgres:
            with self._pg_cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")

    def lock_mirror(self) -> None:
        """Hold the mirror's write lock until this transaction ends, so two writers (the sync and
        a webhook's :func:`documents.sync.mirror_documents`) never both insert one document:
        ``existing()`` is read under the lock. PostgreSQL: a transaction-level advisory lock;
        SQLite: the write lock is already ours since ``BEGIN IMMEDIATE``."""
        if self.postgres:
            with self._pg_cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MIRROR_LOCK_KEY])

    # --- the writes -----------------------------------------------------------------------------

    def existing(self, paperless_ids: list[int]) -> dict[int, Existing]:
        """The mirrored documents among ``paperless_ids``, by Paperless id."""
        qn = self._qn
        columns = [
            qn(_column(Document, name))
            for name in ("paperless_id", "id", "modified", "text_fingerprint", "sync_error")
        ]
        if not self.postgres:  # the stored text as it is, not parsed by the driver's converter
            columns[2] = f"CAST({columns[2]} AS TEXT)"
        sql = (
            f"SELECT {', '.join(columns)} FROM {self.table} "
            f"WHERE {qn(_column(Document, 'paperless_id'))} {{member}}"
        )
        return {row[0]: Existing(*row[1:]) for row in self._in_list(sql, paperless_ids)}

    def pks(self, paperless_ids: list[int]) -> dict[int, int]:
        """Our primary keys of ``paperless_ids`` (those mirrored)."""
        qn = self._qn
        sql = (
            f"SELECT {qn(_column(Document, 'paperless_id'))}, {qn(Document._meta.pk.column)} "
            f"FROM {self.table} WHERE {qn(_column(Document, 'paperless_id'))} {{member}}"
        )
        return dict(self._in_list(sql, paperless_ids))

    def insert_documents(self, rows: Sequence[DocumentRow]) -> dict[int, int]:
        """Insert ``rows``, documents ``existing()`` did not find in this transaction; returns
        their primary keys by Paperless id.

        A plain insert, no upsert: every writer holds ``lock_mirror()`` from before its
        ``existing()`` to its commit (on SQLite the write lock is ours since ``BEGIN
        IMMEDIATE``), and a row there after all fails the page loudly rather than losing an
        update. SQLite: ``executemany`` of an INSERT (an upsert clause made even rows that do
        not conflict twice as slow). PostgreSQL: the ids are drawn from the table's sequence in
        one query, then the rows go by binary ``COPY``, half the time of the JSON upsert
        (measured, 100k documents: 35 -> 15 ms a page)."""
        if not rows:
            return {}
        if not self.postgres:
            self._run(self._insert_sql, self._sqlite_columns(rows))
            return self.pks([row.paperless_id for row in rows])
        with self._pg_cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [Document._meta.db_table, Document._meta.pk.column, len(rows)],
            )
            ids = [pk for (pk,) in cursor.fetchall()]
            defaults = ("",) * len(INSERT_DEFAULTS)
            with cursor.copy(self._copy_sql) as copy:
                copy.set_types(self._copy_types)
                for pk, row in zip(ids, rows, strict=True):
                    copy.write_row((pk, *row, *defaults))
        return {row.paperless_id: pk for pk, row in zip(ids, rows, strict=True)}

    def upsert_documents(self, rows: Sequence[DocumentRow]) -> None:
        """Insert or update ``rows`` by Paperless id (see the module docstring for what an update
        keeps of the old row)."""
        self._write_documents(self._upsert_sql, rows)

    def _write_documents(self, sql: str, rows: Sequence[DocumentRow]) -> None:
        if not rows:
            return
        if self.postgres:
            with self._pg_cursor() as cursor:
                cursor.execute(sql, [self._postgres_json(rows)])
        else:
            self._run(sql, self._sqlite_columns(rows))

    def _insert_pairs(
        self, table: str, columns: tuple[str, str], types: list[str], pairs: Sequence[tuple]
    ) -> None:
        """Insert two-column rows known to be new (binary ``COPY`` on PostgreSQL)."""
        if not pairs:
            return
        if self.postgres:
            with self._pg_cursor() as cursor:
                copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
                with cursor.copy(copy_sql) as copy:
                    copy.set_types(types)
                    for pair in pairs:
                        copy.write_row(pair)
        else:
            with self.connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES (%s, %s)", pairs
                )

    def mark_seen(self, paperless_ids: list[int], now: datetime) -> None:
        """Unchanged documents: only ``last_synced_at`` (one UPDATE for the lot)."""
        if not paperless_ids:
            return
        qn = self._qn
        value = now if self.postgres else self._sqlite_datetime(now)
        sql = (
            f"UPDATE {self.table} SET {qn(_column(Document, 'last_synced_at'))} = %s "
            f"WHERE {qn(_column(Document, 'paperless_id'))} {{member}}"
        )
        self._in_list(sql, paperless_ids, params=[value], fetch=False)

    def record_errors(self, errors: Iterable[tuple[int, str]], now: datetime) -> None:
        """Documents we could not read: keep their row as it was, record only the error."""
        errors = list(errors)
        if not errors:
            return
        qn = self._qn
        value = now if self.postgres else self._sqlite_datetime(now)
        sql = (
            f"UPDATE {self.table} SET {qn(_column(Document, 'sync_error'))} = %s, "
            f"{qn(_column(Document, 'last_synced_at'))} = %s "
            f"WHERE {qn(_column(Document, 'paperless_id'))} = %s"
        )
        with self.connection.cursor() as cursor:
            cursor.executemany(sql, [(error, value, pid) for pid, error in errors])

    def insert_texts(self, texts: Sequence[tuple[int, str]]) -> None:
        """``(document pk, text)`` of documents inserted in this transaction."""
        columns = (self.content_document, self.content_text)
        self._insert_pairs(self.content_table, columns, ["bigint", "text"], texts)

    def replace_texts(self, texts: Sequence[tuple[int, str]]) -> None:
        """Upsert ``(document pk, text)`` into the text table."""
        if not texts:
            return
        document, text = self.content_document, self.content_text
        if self.postgres:  # binary arrays: half the time of text ones for a page of OCR
            source = "SELECT * FROM unnest(%b::bigint[], %b::text[])"
        else:
            source = "VALUES (%s, %s)"
        sql = (
            f"INSERT INTO {self.content_table} ({document}, {text}) {source} "
            f"ON CONFLICT ({document}) DO UPDATE SET {text} = excluded.{text}"
        )
        self._run(sql, [list(column) for column in zip(*texts, strict=True)])

    def replace_tags(self, document_pks: list[int], links: Sequence[tuple[int, int]]) -> None:
        """The tag links of ``document_pks`` become exactly ``links`` (``(document pk, tag pk)``,
        without repeats)."""
        if not document_pks:
            return
        delete = f"DELETE FROM {self.through_table} WHERE {self.through_document} {{member}}"
        self._in_list(delete, document_pks, fetch=False)
        self.insert_tags(links)

    def insert_tags(self, links: Sequence[tuple[int, int]]) -> None:
        """Add tag links (``(document pk, tag pk)``, without repeats) that do not exist yet:
        those of documents inserted in this transaction, or after ``replace_tags`` deleted."""
        columns = (self.through_document, self.through_tag)
        self._insert_pairs(self.through_table, columns, ["bigint", "bigint"], links)


def _dumps(value: Any) -> str:
    return "[]" if value == [] else json.dumps(value)


def _adapt_each(values: list[Any], adapt: Callable[[Any], str]) -> list[str | None]:
    """``adapt`` over a column, None kept; the sync's "now" fills whole columns, so a value that
    is the same object as the one before is adapted once."""
    out: list[str | None] = []
    last: Any = None
    last_text: str | None = None
    for value in values:
        if value is not last:
            last, last_text = value, (None if value is None else adapt(value))
        out.append(last_text)
    return out
