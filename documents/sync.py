"""Sync: mirror Paperless into the local tables, page by page, resumable at any moment.

One run goes through phases, each recorded in the cursor (``SyncState.cursor``) and the job's
checkpoint:

1. ``objects``: tags, correspondents, document types, storage paths and custom fields (small
   lists), upserted by Paperless id so names stay current; ones gone from Paperless are removed.
2. ``documents``: pages ordered by id with only the fields we need, ``modified__gt`` the start of
   the last successful sync minus an overlap (all documents on a full sync). Each page is upserted
   in one transaction *together with the cursor* (page number and last id), so a worker killed
   with SIGKILL resumes after the last committed page: no row twice, no gap. The next page is
   downloaded in a background thread while this one is written, so the database and the network
   overlap instead of adding up.
3. ``reconcile``: every id Paperless has (a ``fields=id`` listing, every run, incremental too) is
   merged with ours, both ascending, in constant memory. Ids we lack (a document restored from the
   trash keeps its old id; a delete and an add during paging can hide one) are fetched; ids
   Paperless lacks are looked up directly (``id__in``, one page of 200 a request) and only those
   it does not return are removed.
4. ``files``: thumbnails (and metadata with the archive checksum where an archive exists) of new or
   changed documents, fetched concurrently by a bounded pool over the shared HTTP client; cached on
   disk with a size cap; dhash (16) and phash computed from them.

Bad data from Paperless (missing fields, megabytes of text, an undecodable thumbnail) becomes that
document's ``sync_error``; the sync goes on. A Paperless that is down or refuses the token fails the
job with the client's message, and the cursor keeps what was done.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.db import connections, models, router, transaction
from django.utils import timezone

from documents import thumbnails
from documents.image_hashes import UndecodableImage, hash_image
from documents.models import (
    Correspondent,
    CustomField,
    Document,
    DocumentType,
    StoragePath,
    SyncState,
    Tag,
)
from documents.paperless import (
    AuthenticationError,
    DocumentPage,
    InvalidResponse,
    NotFound,
    PaperlessClient,
    PaperlessError,
    PermissionDenied,
    ServerError,
    Unreachable,
    etag_value,
    root_checksum,
)
from documents.upsert import DocumentRow, PageWriter
from processing.heap import frozen_heap
from processing.jobs import JobContext, job_kind
from processing.models import Job

logger = logging.getLogger(__name__)

DOCUMENT_FIELDS = (
    "id",
    "title",
    "content",
    "tags",
    "correspondent",
    "document_type",
    "storage_path",
    "created",
    "added",
    "modified",
    "archive_serial_number",
    "original_file_name",
    "archived_file_name",
    "page_count",
    "mime_type",
    "owner",
    "notes",
    "custom_fields",
    "versions",
    "root_document",
)
REQUIRED_FIELDS = ("title", "content", "modified")
PAGE_SIZE = 1000
OVERLAP = timedelta(minutes=10)
MAX_CONTENT_CHARS = 1_000_000
MAX_TITLE_CHARS = 1024
FILE_WORKERS = 4
FILE_BATCH = 200
PAGE_RETRIES = 3
CANCEL_CHECK_SECONDS = 0.5  # a page takes tens of milliseconds: ask for a cancel twice a second

T = TypeVar("T")


class SyncAlreadyRunning(Exception):
    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(f"A sync is already running (job #{job.pk}).")


# --- pure helpers --------------------------------------------------------------------------------


def text_fingerprint(text: str) -> str:
    """SHA-256 of the text with Unicode, case and whitespace normalised: equal for texts that
    differ only in layout. (The engine's own normaliser goes further for similarity.)

    The normal form is ``" ".join(NFKC(text).casefold().split())`` in UTF-8 (``str.split()``
    splits on exactly what ``\\s+`` matches and drops the ends). Splitting a page of OCR into
    words was three quarters of the cost, so the whitespace is collapsed on the UTF-8 bytes
    instead: every whitespace character left after NFKC is ASCII (NFKC turns the no-break and
    typographic spaces into U+0020) except the four in ``_UNICODE_BREAKS``, and the bytes of an
    ASCII character never occur inside a multi-byte UTF-8 sequence. Same digest, ~3x faster."""
    normal = unicodedata.normalize("NFKC", text).casefold()
    if not normal.isascii() and any(space in normal for space in _UNICODE_BREAKS):
        data = " ".join(normal.split()).encode("utf-8", "surrogatepass")
    else:
        data = normal.encode("utf-8", "surrogatepass").translate(_ASCII_SPACE)
        while b"  " in data:
            data = data.replace(b"    ", b" ").replace(b"  ", b" ")
        data = data.strip(b" ")
    return hashlib.sha256(data).hexdigest()


# What str.isspace() calls whitespace that NFKC keeps as it is: ASCII (mapped to a space by
# ``_ASCII_SPACE``) and these four, for which the fingerprint takes the slow path.
_UNICODE_BREAKS = frozenset("\x85\u1680\u2028\u2029")
_ASCII_SPACE = bytes.maketrans(
    bytes(c for c in range(128) if chr(c).isspace()),
    b" " * sum(1 for c in range(128) if chr(c).isspace()),
)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean_text(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    if "\x00" in value:  # PostgreSQL text cannot hold NUL; OCR output sometimes does.
        value = value.replace("\x00", "")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape: no database takes it
            value = _SURROGATE.sub("\ufffd", value)
    return value


def _clean_json(value: Any) -> Any:
    """``value`` (parsed JSON) with every string cleaned like ``_clean_text``: PostgreSQL's jsonb
    refuses a NUL or a lone surrogate as much as its text does."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, list):
        return [_clean_json(item) for item in value]
    if isinstance(value, dict):
        return {_clean_text(key): _clean_json(item) for key, item in value.items()}
    return value


@dataclass(slots=True)
class ConvertedDocument:
    paperless_id: int
    fields: dict[str, Any]
    tag_ids: list[int]
    text: str
    errors: list[str]
    refs: dict[str, Any] = field(default_factory=dict)


def convert_document(raw: dict[str, Any]) -> ConvertedDocument:
    """Paperless's (parsed) document JSON as model field values, with what was wrong with it."""
    errors: list[str] = []
    missing = [name for name in REQUIRED_FIELDS if name not in raw]
    if missing:
        errors.append(f"Paperless sent no {', '.join(missing)} for this document.")
    text = _clean_text(raw.get("content"))
    fingerprint = text_fingerprint(text) if "content" in raw else ""
    if len(text) > MAX_CONTENT_CHARS:
        errors.append(
            f"The text has {len(text):,} characters; only the first {MAX_CONTENT_CHARS:,} are "
            "kept for comparison."
        )
        text = text[:MAX_CONTENT_CHARS]
    title = _clean_text(raw.get("title"))[:MAX_TITLE_CHARS]
    created = raw.get("created")
    added = raw.get("added")
    modified = raw.get("modified")
    for name, value, kind in (
        ("created", created, date),
        ("added", added, datetime),
        ("modified", modified, datetime),
    ):
        if value is not None and not isinstance(value, kind):
            errors.append(f"'{name}' is not a valid {kind.__name__}: {value!r:.60}")
    tags = raw.get("tags") or []
    tag_ids = [t for t in tags if isinstance(t, int)] if isinstance(tags, list) else []
    custom_fields = raw.get("custom_fields")
    notes = raw.get("notes")
    asn = raw.get("archive_serial_number")
    page_count = raw.get("page_count")
    return ConvertedDocument(
        paperless_id=int(raw["id"]),
        fields={
            "title": title,
            "created": created if isinstance(created, date) else None,
            "added": added if isinstance(added, datetime) else None,
            "modified": modified if isinstance(modified, datetime) else None,
            "archive_serial_number": asn if isinstance(asn, int) else None,
            "original_file_name": _clean_text(raw.get("original_file_name"))[:1024],
            "archived_file_name": _clean_text(raw.get("archived_file_name"))[:1024],
            "original_checksum": root_checksum(raw) or "",
            "page_count": page_count if isinstance(page_count, int) and page_count >= 0 else None,
            "mime_type": _clean_text(raw.get("mime_type"))[:128],
            "owner_id": raw.get("owner") if isinstance(raw.get("owner"), int) else None,
            "notes_count": len(notes) if isinstance(notes, list) else 0,
            "custom_fields": _clean_json(custom_fields) if isinstance(custom_fields, list) else [],
            "is_version": raw.get("root_document") is not None,
            "root_paperless_id": _int_or_none(raw.get("root_document")),
            "versions": _other_versions(raw.get("versions")),
            "content_length": len(text),
            "text_fingerprint": fingerprint,
        },
        tag_ids=tag_ids,
        text=text,
        errors=errors,
        refs={name: raw.get(name) for name in ("correspondent", "document_type", "storage_path")},
    )


def _other_versions(versions: Any) -> list[dict[str, Any]]:
    """A root document's file versions other than itself (Paperless 3), as we keep them."""
    if not isinstance(versions, list):
        return []
    return [
        {
            "id": version["id"],
            "label": _clean_text(version.get("version_label"))[:64],
            "checksum": _clean_text(version.get("checksum"))[:64],
        }
        for version in versions
        if isinstance(version, dict)
        and isinstance(version.get("id"), int)
        and not version.get("is_root")
    ]


def convert_page(raw_documents: list[dict[str, Any]]) -> list[ConvertedDocument]:
    """A page's documents converted; one that cannot be converted at all becomes a document with
    no fields and its error (it keeps its old row). No database: safe in the download thread."""
    converted: list[ConvertedDocument] = []
    for raw in raw_documents:
        try:
            converted.append(convert_document(raw))
        except Exception as exc:  # one bad document must not stop the sync
            logger.warning("document not converted", extra={"id": raw.get("id")})
            converted.append(
                ConvertedDocument(
                    paperless_id=int(raw["id"]),
                    fields={},
                    tag_ids=[],
                    text="",
                    errors=[f"Could not read this document: {type(exc).__name__}: {exc}"],
                )
            )
    return converted


def merge_sorted_ids(local: Iterable[int], remote: Iterable[int]) -> tuple[list[int], list[int]]:
    """Walk two ascending id streams at once: (ids only we have, ids only Paperless has)."""
    only_local: list[int] = []
    only_remote: list[int] = []
    local_it, remote_it = iter(local), iter(remote)
    sentinel = object()
    a: Any = next(local_it, sentinel)
    b: Any = next(remote_it, sentinel)
    while a is not sentinel or b is not sentinel:
        if b is sentinel or (a is not sentinel and a < b):
            only_local.append(a)
            a = next(local_it, sentinel)
        elif a is sentinel or b < a:
            only_remote.append(b)
            b = next(remote_it, sentinel)
        else:
            a = next(local_it, sentinel)
            b = next(remote_it, sentinel)
    return only_local, only_remote


def prefetch(iterator: Iterator[T], *, depth: int = 1) -> Iterator[T]:
    """Run ``iterator`` in a background thread, ``depth`` items ahead (memory stays bounded).

    Each item handed over costs a switch between the threads (tens of microseconds when both
    are busy): give it pages, not single rows."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in iterator:
                if not put(("item", item)):
                    return
        except BaseException as exc:
            put(("error", exc))
        else:
            put(("done", None))

    thread = threading.Thread(target=produce, name="sync-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join(timeout=5)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class SyncRun:
    """One sync (``state`` set: the library), or the same steps for a few documents
    (``only_ids``, no ``state``: :func:`mirror_documents`, which leaves the sync's cursor alone)."""

    client: PaperlessClient
    ctx: JobContext | None
    state: SyncState | None
    cursor: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    object_maps: dict[type[models.Model], dict[int, int]] = field(default_factory=dict)
    file_workers: int = FILE_WORKERS
    page_size: int = PAGE_SIZE
    fetch_files: bool = True
    writer: PageWriter = field(default_factory=PageWriter)
    listing_checksums: bool = False  # set from the cursor when the files phase starts
    only_ids: list[int] | None = None  # the files phase for these Paperless ids only

    def bump(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by

    def save_cursor(self, **changes: Any) -> None:
        """Persist the cursor (inside the caller's transaction when there is one)."""
        self.cursor.update(changes)
        if self.state is not None:
            self.state.save_cursor(dict(self.cursor))
        if self.ctx is not None:
            self.ctx.job.counts = {**self.ctx.job.counts, **self.counts}
            self.ctx.save_checkpoint(dict(self.cursor))

    # --- objects ---------------------------------------------------------------------------------

    def sync_objects(self) -> None:
        now = timezone.now()
        specs: list[tuple[type[models.Model], Callable[[], list[dict]], Callable[[dict], dict]]] = [
            (
                Tag,
                self.client.list_tags,
                lambda o: {
                    "color": str(o.get("color") or "")[:16],
                    "parent_paperless_id": o.get("parent"),
                    "is_inbox_tag": bool(o.get("is_inbox_tag")),
                },
            ),
            (Correspondent, self.client.list_correspondents, lambda o: {}),
            (DocumentType, self.client.list_document_types, lambda o: {}),
            (
                StoragePath,
                self.client.list_storage_paths,
                lambda o: {"path": str(o.get("path") or "")[:512]},
            ),
            (
                CustomField,
                self.client.list_custom_fields,
                lambda o: {"data_type": str(o.get("data_type") or "")[:32]},
            ),
        ]
        for model, fetch, extra in specs:
            remote = fetch()
            rows = [
                model(
                    paperless_id=o["id"],
                    name=str(o.get("name") or f"#{o['id']}")[:256],
                    updated_at=now,
                    **extra(o),
                )
                for o in remote
            ]
            update_fields = ["name", "updated_at", *extra({}).keys()]
            with transaction.atomic():
                model.objects.bulk_create(
                    rows,
                    update_conflicts=True,
                    unique_fields=["paperless_id"],
                    update_fields=update_fields,
                    batch_size=500,
                )
                gone = model.objects.exclude(paperless_id__in=[o["id"] for o in remote])
                removed = gone.delete()[1].get(model._meta.label, 0)
            self.bump(f"{model._meta.model_name}_removed", removed)
            self.object_maps[model] = dict(model.objects.values_list("paperless_id", "pk"))

    def local_object(self, model: type[models.Model], paperless_id: Any) -> int | None:
        """Our pk for a Paperless object id; an id we have not seen (created since the object
        lists were read) gets a placeholder row, named properly on the next sync."""
        if not isinstance(paperless_id, int):
            return None
        mapping = self.object_maps.setdefault(model, {})
        if paperless_id not in mapping:
            obj, _ = model.objects.get_or_create(
                paperless_id=paperless_id, defaults={"name": f"#{paperless_id}"}
            )
            mapping[paperless_id] = obj.pk
            self.cursor["objects_stale"] = True
        return mapping[paperless_id]

    # --- documents -------------------------------------------------------------------------------

    def upsert_page(self, raw_documents: list[dict[str, Any]]) -> None:
        """Write one page of documents (call inside a transaction)."""
        self.write_page(convert_page(raw_documents))

    def write_page(self, converted: list[ConvertedDocument]) -> None:
        """Write one converted page (call inside a transaction). The SQL is in
        ``documents/upsert.py``; here is only what to write."""
        if not converted:
            return
        now = timezone.now()
        writer = self.writer
        writer.relax_durability()
        writer.lock_mirror()  # a webhook's mirror_documents may write at the same time
        existing = writer.existing([c.paperless_id for c in converted])
        new_rows: list[DocumentRow] = []
        rows: list[DocumentRow] = []
        unchanged: list[int] = []
        same_modified: list[ConvertedDocument] = []
        unreadable: list[tuple[int, str]] = []
        changed_text: list[ConvertedDocument] = []
        changed_tags: list[ConvertedDocument] = []
        tally = dict.fromkeys(("created", "updated", "unchanged", "errors"), 0)
        for item in converted:
            pid = item.paperless_id
            old = existing.get(pid)
            values = item.fields
            if not values:  # unreadable: keep the row we had as it was, record the error
                tally["errors"] += 1
                error = "\n".join(item.errors)
                if old is not None:
                    unreadable.append((pid, error))
                else:
                    new_rows.append(_placeholder_row(pid, error, now))
                continue
            if values["original_checksum"] and not self.cursor.get("listing_checksums"):
                # This server lists each file's checksum (``versions``, Paperless 3): the
                # files phase may then trust a stored checksum (see ``_fetch_files``).
                self.cursor["listing_checksums"] = True
            is_new = old is None
            modified_changed = is_new or old.modified != writer.modified_key(values["modified"])
            text_changed = is_new or old.text_fingerprint != values["text_fingerprint"]
            if old is not None and not item.errors and old.sync_error:
                kept_error = _file_errors(old.sync_error)
                stale_error = kept_error != old.sync_error  # a read error now gone
            else:
                kept_error, stale_error = "", False
            if not (modified_changed or text_changed or item.errors or stale_error):
                unchanged.append(pid)  # nothing to write but "seen now" (tags: see below)
                same_modified.append(item)
                tally["unchanged"] += 1
                continue
            if item.errors:
                sync_error = "\n".join(item.errors)
                tally["errors"] += 1
            elif not modified_changed:
                sync_error = kept_error  # keep a file error until the document changes
            else:
                sync_error = ""
            refs = item.refs
            (new_rows if is_new else rows).append(
                DocumentRow(
                    pid,
                    values["title"],
                    self.local_object(Correspondent, refs.get("correspondent")),
                    self.local_object(DocumentType, refs.get("document_type")),
                    self.local_object(StoragePath, refs.get("storage_path")),
                    values["created"],
                    values["added"],
                    values["modified"],
                    values["archive_serial_number"],
                    values["original_file_name"],
                    values["archived_file_name"],
                    values["original_checksum"],  # "" keeps the old one
                    values["page_count"],
                    values["mime_type"],
                    values["owner_id"],
                    values["notes_count"],
                    values["custom_fields"],
                    values["is_version"],
                    values["content_length"],
                    values["text_fingerprint"],
                    now if text_changed else None,  # None keeps the old time
                    modified_changed,  # needs_analysis (or the old value when set)
                    modified_changed,  # thumbnail_needed (or the old value when set)
                    sync_error,
                    now,
                    now,
                    values["root_paperless_id"],
                    values["versions"],
                )
            )
            if text_changed:
                changed_text.append(item)
            if modified_changed:
                changed_tags.append(item)
            tally["created" if is_new else ("updated" if modified_changed else "unchanged")] += 1
        for name, value in tally.items():
            if value:
                self.bump(name, value)
        repaired = self._tags_differ(same_modified, existing)
        if repaired:
            # ``modified`` is the same but the tags are not: a change of ours whose worker was
            # killed before it updated the mirror. Only the tag links are rewritten.
            changed_tags.extend(repaired)
            self.bump("tags_repaired", len(repaired))
        writer.mark_seen(unchanged, now)
        writer.record_errors(unreadable, now)
        new_pks = writer.insert_documents(new_rows)
        writer.upsert_documents(rows)
        if not (changed_text or changed_tags):
            return
        # A new document's text and tags are plain inserts; an old one's replace what it had.
        pks = {pid: old.pk for pid, old in existing.items()}
        writer.insert_texts(
            [(new_pks[c.paperless_id], c.text) for c in changed_text if c.paperless_id in new_pks]
        )
        writer.replace_texts(
            [(pks[c.paperless_id], c.text) for c in changed_text if c.paperless_id in pks]
        )
        pks.update(new_pks)
        new_links: list[tuple[int, int]] = []
        old_links: list[tuple[int, int]] = []
        for item in changed_tags:
            document_pk = pks[item.paperless_id]
            links = new_links if item.paperless_id in new_pks else old_links
            for tag_pid in dict.fromkeys(item.tag_ids):
                tag_pk = self.local_object(Tag, tag_pid)
                if tag_pk is not None:
                    links.append((document_pk, tag_pk))
        writer.insert_tags(new_links)
        writer.replace_tags(
            [pks[c.paperless_id] for c in changed_tags if c.paperless_id not in new_pks], old_links
        )

    def _tags_differ(
        self, items: list[ConvertedDocument], existing: dict[int, Any]
    ) -> list[ConvertedDocument]:
        """Those of ``items`` whose mirrored tags are not the tags Paperless lists."""
        if not items:
            return []
        by_pk = {existing[item.paperless_id].pk: item for item in items}
        stored: dict[int, set[int]] = {}
        through = Document.tags.through
        pks = list(by_pk)
        for start in range(0, len(pks), 900):
            rows = through.objects.filter(document_id__in=pks[start : start + 900]).values_list(
                "document_id", "tag__paperless_id"
            )
            for document_pk, tag_pid in rows:
                stored.setdefault(document_pk, set()).add(tag_pid)
        return [item for pk, item in by_pk.items() if stored.get(pk, set()) != set(item.tag_ids)]

    def _pages(self) -> Iterator[DocumentPage]:
        """The document pages still to read, from the cursor."""
        modified_after = self.cursor.get("modified_after")
        return self.client.iter_document_pages(
            fields=list(DOCUMENT_FIELDS),
            modified_after=datetime.fromisoformat(modified_after) if modified_after else None,
            page_size=self.page_size,
            start_page=int(self.cursor.get("page") or 0) + 1,
            after_id=self.cursor.get("last_id"),
        )

    def sync_documents(self) -> None:
        """Read and write every page; a page Paperless garbles (broken JSON, a 5xx after the
        client's own retries) is read again from the last committed cursor, a few times."""
        failures = 0
        while True:
            try:
                # Download and conversion run in the prefetch thread, while this one writes.
                pages = ((page, convert_page(page.documents)) for page in self._pages())
                for page, converted in prefetch(pages):
                    self.ctx.check_cancelled(at_most_every=CANCEL_CHECK_SECONDS)
                    with transaction.atomic():
                        self.write_page(converted)
                        done = int(self.cursor.get("documents_done") or 0) + len(page.documents)
                        self.save_cursor(
                            page=page.number, last_id=page.last_id, documents_done=done
                        )
                    failures = 0
                    self.ctx.progress(
                        done=done,
                        total=max(page.count, done),
                        message=f"Documents: {done:,} of {page.count:,} read",
                        counts=self.counts,
                    )
                return
            except (InvalidResponse, ServerError) as exc:
                failures += 1
                if failures > PAGE_RETRIES:
                    raise
                logger.warning(
                    "document page failed; reading again from the cursor",
                    extra={"error": str(exc), "attempt": failures},
                )
                time.sleep(min(2.0 * failures, 10.0))

    # --- reconcile -------------------------------------------------------------------------------

    def reconcile(self) -> None:
        self.ctx.progress(done=0, total=None, message="Checking for deleted documents", force=True)
        local = (
            Document.objects.order_by("paperless_id")
            .values_list("paperless_id", flat=True)
            .iterator(chunk_size=10_000)
        )
        # Whole pages cross the thread boundary: a queue handoff per id cost a thread switch
        # each (5 s for 100k ids).
        id_pages = prefetch(
            self.client.iter_document_pages(fields=["id"], page_size=self.page_size * 5)
        )
        remote = (document["id"] for page in id_pages for document in page.documents)
        only_local, only_remote = merge_sorted_ids(local, remote)
        gone = self._confirm_gone(only_local)
        if gone:
            with transaction.atomic():
                removed = Document.objects.remove_gone(gone)
            thumbnails.discard(gone)
            self.bump("deleted", removed)
        if only_remote:
            fetched = 0
            batch: list[dict[str, Any]] = []
            for raw in self.client.get_documents_by_ids(only_remote, fields=list(DOCUMENT_FIELDS)):
                batch.append(raw)
                if len(batch) >= self.page_size:
                    with transaction.atomic():
                        self.upsert_page(batch)
                    fetched += len(batch)
                    batch = []
            with transaction.atomic():
                self.upsert_page(batch)
            fetched += len(batch)
            self.bump("recovered", fetched)
        self.ctx.check_cancelled()
        self.save_cursor(phase="files", files_after=0)

    def _confirm_gone(self, candidates: list[int]) -> list[int]:
        """Ids Paperless really no longer has (deleted, trashed, or no longer visible to the
        token): looked up directly, 200 a request (``id__in``); an id not returned is gone. Each
        request is a single page, so it cannot race with paging the way the id listing can (and
        it is 200 times fewer requests than a detail GET each, for a library cleaned up in
        Paperless)."""
        if not candidates:
            return []
        alive = {raw["id"] for raw in self.client.get_documents_by_ids(candidates, fields=["id"])}
        return [pid for pid in candidates if pid not in alive]

    # --- files -----------------------------------------------------------------------------------

    def sync_files(self) -> None:
        """Fetch and hash in the pool, write in this thread, one batch of ``FILE_BATCH`` at a
        time; the next batch is queued before this one is written, so the pool never waits for
        the database."""
        after = int(self.cursor.get("files_after") or 0)
        needing = Document.objects.needing_thumbnail()
        if self.only_ids is not None:
            needing = needing.filter(paperless_id__in=self.only_ids)
        total = needing.filter(paperless_id__gt=after).count()
        cache = thumbnails.RunningCap()
        self.listing_checksums = bool(self.cursor.get("listing_checksums"))
        done = 0
        queried = after
        pool = ThreadPoolExecutor(max_workers=self.file_workers)

        def submit_next() -> tuple[list[dict[str, Any]], list[Future[FileResult]]] | None:
            nonlocal queried
            batch = list(
                needing.filter(paperless_id__gt=queried)
                .order_by("paperless_id")
                .values(*FILE_ROW_FIELDS)[:FILE_BATCH]
            )
            if not batch:
                return None
            queried = batch[-1]["paperless_id"]
            return batch, [pool.submit(self._fetch_files, row) for row in batch]

        try:
            current = submit_next()
            while current is not None:
                if self.ctx is not None:
                    self.ctx.check_cancelled()
                following = submit_next()
                batch, futures = current
                results = [future.result() for future in futures]
                gone = [r.paperless_id for r in results if r.gone]
                with transaction.atomic():
                    write_file_results([r.as_document() for r in results if not r.gone])
                    if gone:
                        self.bump("deleted", Document.objects.remove_gone(gone))
                    self.save_cursor(files_after=batch[-1]["paperless_id"])
                if gone:
                    thumbnails.discard(gone)
                cache.add(sum(r.stored_bytes for r in results))
                for r in results:
                    self.bump(r.outcome)
                done += len(batch)
                if self.ctx is not None:
                    self.ctx.progress(
                        done=done,
                        total=max(total, done),
                        message=f"Thumbnails: {done:,} of {total:,}",
                        counts=self.counts,
                    )
                current = following
        finally:
            # A failure (or a cancel) drops the queued batch instead of fetching it first.
            pool.shutdown(wait=True, cancel_futures=True)
        self.bump("thumbnail_cache_evicted", cache.finish())

    def _fetch_files(self, row: dict[str, Any]) -> FileResult:
        """Thumbnail (and metadata when there is an archive file) for one document. Runs in a pool
        thread: network, decoding and hashing only, no database."""
        result = FileResult(row=row)
        pid = row["paperless_id"]
        try:
            if row["archived_file_name"] or not row["original_checksum"]:
                meta = self.client.get_metadata(pid)
                result.original_checksum = str(meta.get("original_checksum") or "")[:64]
                result.archive_checksum = str(meta.get("archive_checksum") or "")[:64]
                result.original_size = _int_or_none(meta.get("original_size"))
                result.archive_size = _int_or_none(meta.get("archive_size"))
            # A checksum proves the file unchanged only if it is current: fetched just now, or
            # listed by a server that lists them (a Paperless 2.x listing has none, so the stored
            # one may be older than the file).
            listed = row["original_checksum"] if self.listing_checksums else ""
            checksum = result.original_checksum or listed
            unchanged = (
                row["phash"] is not None
                and checksum
                and etag_value(row["thumbnail_etag"]) == checksum
            )
            if unchanged and row["layout"] is None:
                # hashed before page layouts existed: read the layout from the cached file
                stored = thumbnails.read(pid)
                if stored is not None and self._hash(result, stored):
                    result.outcome = "layouts_from_cache"
                    return result
                result.error = ""  # an unreadable cached file: fetch it again below
            elif unchanged:
                # Paperless's thumbnail ETag is the original file's checksum: the same file, the
                # same thumbnail. Asking would only get a 304 (a document tagged or edited in
                # Paperless, or by our own dry run, changes ``modified`` but not the file). An
                # evicted cache file is fetched again by the thumbnail view when a page wants it.
                result.outcome = "thumbnails_unchanged"
                return result
            cached = row["thumbnail_etag"] and row["phash"] is not None
            cached = cached and row["layout"] is not None and thumbnails.path_for(pid).exists()
            thumb = self.client.get_thumbnail(pid, etag=row["thumbnail_etag"] if cached else None)
        except NotFound:
            result.gone = True
            result.outcome = "deleted"
            return result
        except (AuthenticationError, PermissionDenied, Unreachable):
            raise  # the whole server is the problem: fail the job, the cursor keeps our place
        except PaperlessError as exc:
            result.error = f"Thumbnail not fetched: {exc}"
            result.keep_needed = True
            result.outcome = "file_errors"
            return result
        result.etag = (thumb.etag or "")[:200]
        if thumb.not_modified:
            result.outcome = "thumbnails_unchanged"
            return result
        if not result.original_checksum and thumb.etag and not self.listing_checksums:
            # A Paperless 2.x lists no checksum: the thumbnail's ETag is the file's. (Paperless 3
            # lists the original's; its thumbnail may be of a newer version, another file.)
            result.original_checksum = etag_value(thumb.etag)[:64]
        if not self._hash(result, thumb.content):
            result.outcome = "file_errors"
            return result
        thumbnails.store(pid, thumb.content)
        result.stored_bytes = len(thumb.content)
        result.outcome = "thumbnails"
        return result

    @staticmethod
    def _hash(result: FileResult, content: bytes) -> bool:
        """Perceptual hashes and page layout of a thumbnail into ``result``; False (and the
        error) when it cannot be decoded."""
        try:
            result.hashes = hash_image(content)
        except UndecodableImage as exc:
            result.error = f"The thumbnail could not be decoded ({exc})."
            return False
        return True

    # --- the whole run ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        phase = self.cursor.get("phase", "objects")
        seconds: dict[str, float] = {}
        clock = time.monotonic()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.monotonic()
            seconds[name] = round(now - clock, 3)
            clock = now

        self.sync_objects()
        lap("objects")
        if phase in ("objects", "documents"):
            self.save_cursor(phase="documents")
            self.sync_documents()
            if self.cursor.pop("objects_stale", False):
                self.sync_objects()  # names for objects created while we paged
            self.save_cursor(phase="reconcile")
            lap("documents")
        if self.cursor["phase"] == "reconcile":
            self.reconcile()
            lap("reconcile")
        if self.fetch_files:
            self.sync_files()
            lap("files")
        started = datetime.fromisoformat(self.cursor["started_at"])
        with transaction.atomic():
            state = SyncState.objects.select_for_update().get(pk=self.state.pk)
            state.last_success_started_at = started
            state.last_success_finished_at = timezone.now()
            if self.cursor.get("full"):
                state.last_full_started_at = started
            state.last_job_id = self.ctx.job.pk
            state.last_counts = self.counts
            state.cursor = {}
            state.save()
        result = {**self.counts, "full": bool(self.cursor.get("full")), "seconds": seconds}
        self.ctx.save_checkpoint({})
        return result


@dataclass
class FileResult:
    row: dict[str, Any]
    outcome: str = "thumbnails"
    gone: bool = False
    keep_needed: bool = False
    etag: str = ""
    error: str = ""
    hashes: Any = None
    original_checksum: str = ""
    archive_checksum: str = ""
    original_size: int | None = None
    archive_size: int | None = None
    stored_bytes: int = 0

    @property
    def paperless_id(self) -> int:
        return self.row["paperless_id"]

    def as_document(self) -> Document:
        row = self.row
        doc = Document(
            pk=row["pk"],
            paperless_id=row["paperless_id"],
            thumbnail_needed=self.keep_needed,
            thumbnail_etag=self.etag or row["thumbnail_etag"],
            thumbnail_fetched_at=timezone.now(),
            original_checksum=self.original_checksum or row["original_checksum"],
            archive_checksum=self.archive_checksum or row["archive_checksum"],
            original_size=self.original_size,
            archive_size=self.archive_size,
            needs_analysis=True,
        )
        if self.hashes is not None:
            doc.dhash = self.hashes.dhash
            doc.phash = self.hashes.phash
            doc.layout = self.hashes.layout
        else:
            undecodable = bool(self.error) and not self.keep_needed
            doc.dhash = None if undecodable else row["dhash"]
            doc.phash = None if undecodable else row["phash"]
            doc.layout = None if undecodable else row["layout"]
        errors = [line for line in row["sync_error"].splitlines() if not _is_file_error(line)]
        if self.error:
            errors.append(self.error)
        doc.sync_error = "\n".join(errors)
        return doc


FILE_ROW_FIELDS = (
    "pk",
    "paperless_id",
    "thumbnail_etag",
    "dhash",
    "phash",
    "layout",
    "archived_file_name",
    "original_checksum",
    "archive_checksum",
    "sync_error",
)
FILE_UPDATE_FIELDS = (
    "thumbnail_needed",
    "thumbnail_etag",
    "thumbnail_fetched_at",
    "dhash",
    "phash",
    "layout",
    "original_checksum",
    "archive_checksum",
    "original_size",
    "archive_size",
    "needs_analysis",
    "sync_error",
)


def write_file_results(documents: list[Document]) -> None:
    """Store the files phase's columns of a batch: one prepared ``UPDATE ... WHERE id = %s`` run
    with ``executemany``. (``bulk_update`` builds a ``CASE WHEN`` per field and row; at ~5 ms a
    document it was the files phase's largest cost.)"""
    if not documents:
        return
    connection = connections[router.db_for_write(Document)]
    qn = connection.ops.quote_name
    fields = [Document._meta.get_field(name) for name in FILE_UPDATE_FIELDS]
    assignments = ", ".join(f"{qn(f.column)} = %s" for f in fields)
    table, pk = qn(Document._meta.db_table), qn(Document._meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608 - our quoted names
    params = [
        [f.get_db_prep_save(getattr(doc, f.attname), connection) for f in fields] + [doc.pk]
        for doc in documents
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _is_file_error(line: str) -> bool:
    return line.startswith(("Thumbnail not fetched:", "The thumbnail could not be decoded"))


def _file_errors(sync_error: str) -> str:
    """The files phase's lines of ``sync_error`` (they stay until the document changes)."""
    return "\n".join(line for line in sync_error.splitlines() if _is_file_error(line))


def _placeholder_row(paperless_id: int, error: str, now: datetime) -> DocumentRow:
    """A document we could not read and never had: its id and the error, defaults elsewhere."""
    return DocumentRow(
        paperless_id,
        "",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "",
        "",
        "",
        None,
        "",
        None,
        0,
        [],
        False,
        0,
        "",
        None,
        True,
        True,
        error,
        now,
        now,
    )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) else None


# --- entry points --------------------------------------------------------------------------------


def running_sync(*, exclude_job_id: int | None = None) -> Job | None:
    """The sync job running or queued now (stale ones are marked interrupted first)."""
    Job.objects.mark_stale()
    active = Job.objects.filter(kind=Job.Kind.SYNC).active()
    if exclude_job_id is not None:
        active = active.exclude(pk=exclude_job_id)
    return active.order_by("created_at").first()


def start_sync(*, full: bool = False, user: Any = None) -> Job:
    """Queue a sync (the view, the API and the scheduler's twin). Raises SyncAlreadyRunning."""
    with transaction.atomic():
        current = running_sync()
        if current is not None:
            raise SyncAlreadyRunning(current)
        from processing import jobs

        return jobs.enqueue(kind=Job.Kind.SYNC, params={"full": bool(full)}, user=user)


def new_cursor(*, state: SyncState, full: bool, now: datetime) -> dict[str, Any]:
    last = state.last_success_started_at
    incremental = not full and last is not None
    return {
        "phase": "objects",
        "full": not incremental,
        "started_at": now.isoformat(),
        "modified_after": (last - OVERLAP).isoformat() if incremental else None,
        "page": 0,
        "last_id": None,
        "documents_done": 0,
    }


@job_kind(Job.Kind.SYNC, queue="sync")
def sync_job(ctx: JobContext) -> dict[str, Any]:
    """Run (or resume) a sync. A cursor left by a killed or failed run is picked up, unless this
    run asks for a full sync and the left one was incremental."""
    from documents.connection import get_client

    Job.objects.mark_stale()
    other = (
        Job.objects.filter(kind=Job.Kind.SYNC, status=Job.Status.RUNNING)
        .exclude(pk=ctx.job.pk)
        .first()
    )
    if other is not None:
        raise SyncAlreadyRunning(other)
    full = bool(ctx.params.get("full"))
    state = SyncState.objects.get_solo()
    cursor = dict(state.cursor or {})
    if not cursor or (full and not cursor.get("full")):
        cursor = new_cursor(state=state, full=full, now=timezone.now())
    else:
        logger.info("sync resumes", extra={"cursor": cursor})
    from dedupe_project.models import Configuration

    workers = int(
        ctx.params.get("file_workers") or Configuration.objects.get_solo().paperless_file_workers
    )
    with get_client() as client, frozen_heap():
        run = SyncRun(
            client=client,
            ctx=ctx,
            state=state,
            cursor=cursor,
            counts=dict(ctx.job.counts or {}),
            file_workers=max(1, min(workers, 16)),
            page_size=int(ctx.params.get("page_size") or PAGE_SIZE),
            fetch_files=ctx.params.get("files", True) is not False,
        )
        SyncState.record_api_version(client.api_version)
        run.save_cursor()
        result = run.run()
    from duplicates.analysis import analysis_after_sync

    analysis_after_sync(counts=result)  # incremental analysis of what changed
    return result


# --- a few documents now (webhooks) --------------------------------------------------------------


@dataclass
class MirrorResult:
    """What :func:`mirror_documents` found: the documents as Paperless has them now (parsed, by
    Paperless id), those it no longer has (removed from the mirror), the versions asked for
    and the root each belongs to, the ones ``skip`` left alone, and the sync's counts."""

    documents: dict[int, dict[str, Any]] = field(default_factory=dict)
    gone: list[int] = field(default_factory=list)
    version_roots: dict[int, int] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _find_roots(
    client: PaperlessClient, missing: Iterable[int]
) -> tuple[dict[int, int], list[int]]:
    """Of ids a listing did not return: those that are file versions (lists show root documents
    only), with their root, and those Paperless really does not have (deleted, trashed)."""
    roots: dict[int, int] = {}
    gone: list[int] = []
    known = {
        version["id"]: root
        for root, versions in Document.objects.exclude(versions=[]).values_list(
            "paperless_id", "versions"
        )
        for version in versions
        if isinstance(version, dict) and "id" in version
    }
    for pid in missing:
        if pid in known:
            roots[pid] = known[pid]
            continue
        if not client.has_versions:
            gone.append(pid)
            continue
        try:
            raw = client.get_document(pid, fields=["id", "root_document"])
        except NotFound:
            gone.append(pid)
            continue
        root = raw.get("root_document")
        if isinstance(root, int) and root != pid:
            roots[pid] = root
        else:
            gone.append(pid)  # listed nowhere though it answers: not visible to the token
    return roots, gone


def mirror_documents(
    *,
    client: PaperlessClient,
    paperless_ids: Iterable[int],
    ctx: JobContext | None = None,
    skip: Callable[[dict[str, Any]], bool] | None = None,
    fetch_files: bool = True,
) -> MirrorResult:
    """Bring these documents of the mirror up to date now, with the sync's own steps: read them
    (``id__in``, the sync's fields), convert and write them (:meth:`SyncRun.write_page`, under
    the mirror's write lock), remove those Paperless no longer has, then the files phase
    (thumbnail, checksums, perceptual hashes) for them alone. A file version's id brings its
    root document up to date instead (versions are not documents of their own here).

    ``skip(raw)`` true leaves a document as it is (our own change coming back as a webhook).
    What a webhook does for one document, and a burst does for a few hundred at once; the
    sync's cursor is not touched, and changed documents are flagged ``needs_analysis`` as the
    sync flags them."""
    from dedupe_project.models import Configuration

    wanted = sorted({int(pid) for pid in paperless_ids})
    result = MirrorResult()
    if not wanted:
        return result
    SyncState.record_api_version(client.api_version)
    fields = list(DOCUMENT_FIELDS)
    found = {raw["id"]: raw for raw in client.get_documents_by_ids(wanted, fields=fields)}
    missing = [pid for pid in wanted if pid not in found]
    if missing:
        result.version_roots, result.gone = _find_roots(client, missing)
        roots = sorted(set(result.version_roots.values()) - set(found))
        for raw in client.get_documents_by_ids(roots, fields=fields):
            found[raw["id"]] = raw
        result.gone += [root for root in roots if root not in found]
    result.documents = found
    writes = []
    for pid, raw in sorted(found.items()):
        if skip is not None and skip(raw):
            result.skipped.append(pid)
        else:
            writes.append(raw)
    workers = Configuration.objects.get_solo().paperless_file_workers
    run = SyncRun(
        client=client,
        ctx=ctx,
        state=None,
        cursor={},
        file_workers=max(1, min(workers, 16)),
        only_ids=[raw["id"] for raw in writes],
    )
    for model in (Tag, Correspondent, DocumentType, StoragePath, CustomField):
        run.object_maps[model] = dict(model.objects.values_list("paperless_id", "pk"))
    converted = convert_page(writes)
    with transaction.atomic():
        run.write_page(converted)
        if result.gone:
            run.bump("deleted", Document.objects.remove_gone(result.gone))
    if result.gone:
        thumbnails.discard(result.gone)
    if run.cursor.pop("objects_stale", False):
        run.sync_objects()  # a tag or correspondent new to us: its name
    if fetch_files and writes:
        run.sync_files()
    result.counts = run.counts
    return result


def last_sync_job() -> Job | None:
    return Job.objects.filter(kind=Job.Kind.SYNC).order_by("-created_at", "-pk").first()
