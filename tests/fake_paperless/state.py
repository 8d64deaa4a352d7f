"""The fake Paperless library: documents, trash, tags and other objects, and how to seed them.

Tests seed and inspect it directly (``fake_paperless.state``); the HTTP handler reads and changes it
under ``state.lock``. Documents are kept in id order, so listing by id is a slice, not a sort.
"""

from __future__ import annotations

import bisect
import random
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.fake_paperless import content

OWNER_ID = 2
BASE_TIME = datetime(2026, 11, 21, 1, 42, 3, 932316, tzinfo=UTC)


@dataclass(slots=True, eq=False)
class FakeDocument:
    """One Paperless document; text, files and thumbnail are derived from the seeds on request."""

    id: int
    title: str
    text_seed: int
    text_variant: int = 0
    text_fraction: float = 1.0
    content_override: str | None = None
    blob_key: str = ""
    image_seed: int = 0
    image_variant: int = 0
    tags: list[int] = field(default_factory=list)
    correspondent: int | None = None
    document_type: int | None = None
    storage_path: int | None = None
    created: date = date(2026, 11, 21)
    added: datetime = BASE_TIME
    modified: datetime = BASE_TIME
    archive_serial_number: int | None = None
    original_file_name: str = ""
    has_archive: bool = False
    page_count: int | None = 1
    mime_type: str = "application/pdf"
    owner: int | None = OWNER_ID
    notes: list[dict] = field(default_factory=list)
    custom_fields: list[dict] = field(default_factory=list)
    deleted_at: datetime | None = None
    root_document: int | None = None  # set on an extra file version (Paperless 3)
    version_label: str | None = None
    version_index: int | None = None
    # an uploaded file (a version) or a corpus file, served as it is; else derived from the seeds
    file_bytes: bytes | None = None
    thumbnail_override: bytes | None = None  # a corpus document's real thumbnail
    _checksum: str | None = None

    @property
    def content(self) -> str:
        if self.content_override is not None:
            return self.content_override
        return content.document_text(
            seed=self.text_seed, variant=self.text_variant, fraction=self.text_fraction
        )

    @content.setter
    def content(self, value: str) -> None:
        self.content_override = value

    @property
    def original(self) -> bytes:
        if self.file_bytes is not None:
            return self.file_bytes
        return content.original_bytes(
            blob_key=self.blob_key or f"doc-{self.id}",
            text=self.content,
            mime_type=self.mime_type,
        )

    @property
    def checksum(self) -> str:
        """SHA-256 of the original file, computed once (a few bytes kept, not the file)."""
        if self._checksum is None:
            self._checksum = content.sha256_hex(self.original)
        return self._checksum

    @property
    def archive(self) -> bytes | None:
        if not self.has_archive:
            return None
        return content.minimal_pdf(text=f"archive of {self.id}\n{self.content[:400]}")

    @property
    def archived_file_name(self) -> str | None:
        if not self.has_archive:
            return None
        return f"{self.created.isoformat()} {self.title}.pdf"

    @property
    def thumbnail(self) -> bytes:
        if self.thumbnail_override is not None:
            return self.thumbnail_override
        return content.thumbnail(seed=self.image_seed, variant=self.image_variant)


@dataclass(slots=True)
class DuplicatePair:
    """A pair the seeder made on purpose; ``kind`` is exact, near (re-scan) or extract."""

    original_id: int
    duplicate_id: int
    kind: str


@dataclass(slots=True)
class SeedResult:
    document_ids: list[int]
    duplicate_pairs: list[DuplicatePair]


_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    return _SLUG_RE.sub("-", name.lower()).strip("-")


class FakeState:
    """Everything the fake server knows. Use ``with state.lock:`` when changing it while serving."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.listeners: list[Callable[[str, FakeDocument], None]] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.documents: dict[int, FakeDocument] = {}
            self._live_ids: list[int] = []
            self.trash: dict[int, FakeDocument] = {}
            self.tags: dict[int, dict] = {}
            self.correspondents: dict[int, dict] = {}
            self.document_types: dict[int, dict] = {}
            self.storage_paths: dict[int, dict] = {}
            self.custom_fields: dict[int, dict] = {}
            self.duplicate_pairs: list[DuplicatePair] = []
            self.versions: dict[int, FakeDocument] = {}  # extra file versions, by their own id
            self.tasks: dict[str, dict] = {}
            self.workflows: dict[int, dict] = {}
            self._next_workflow_ids = {"workflow": 1, "trigger": 1, "action": 1, "webhook": 1}
            self._next_task_id = 1
            self._next_document_id = 1
            self._next_object_id = {
                "tags": 1,
                "correspondents": 1,
                "document_types": 1,
                "storage_paths": 1,
                "custom_fields": 1,
            }
            self._next_note_id = 1
            self._clock = BASE_TIME

    # --- time ------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """A strictly increasing clock, so every change gets a distinct ``modified``."""
        with self.lock:
            real = datetime.now(UTC)
            self._clock = max(real, self._clock + timedelta(microseconds=1))
            return self._clock

    # --- documents -------------------------------------------------------------------------------

    def live_ids(self) -> list[int]:
        """Ids of documents not in the trash, ascending. Do not modify the returned list."""
        return self._live_ids

    def add_document(self, **fields: object) -> FakeDocument:
        """Add one document (like a consumed upload) and return it; ``fields`` override defaults.

        Giving the ``blob_key`` of an existing document makes a byte-identical twin of it.
        """
        with self.lock:
            document_id = int(fields.pop("id", self._next_document_id))  # type: ignore[call-overload]
            self._next_document_id = max(self._next_document_id, document_id + 1)
            now = self.now()
            defaults: dict[str, object] = {
                "title": f"Document {document_id}",
                "text_seed": document_id,
                "image_seed": document_id,
                "original_file_name": f"document-{document_id}.pdf",
                "added": now,
                "modified": now,
                "created": now.date(),
            }
            if "content" in fields:
                fields["content_override"] = fields.pop("content")
            twin = next(
                (d for d in self.documents.values() if fields.get("blob_key") == d.blob_key), None
            )
            if twin is not None:  # a byte-identical copy: same text, file and thumbnail
                for name in ("text_seed", "text_variant", "text_fraction", "content_override"):
                    defaults[name] = getattr(twin, name)
                defaults.update(image_seed=twin.image_seed, mime_type=twin.mime_type)
            defaults.update(fields)
            document = FakeDocument(id=document_id, **defaults)  # type: ignore[arg-type]
            self.documents[document_id] = document
            bisect.insort(self._live_ids, document_id)
        self.emit("added", document)
        return document

    def get_document(self, document_id: int) -> FakeDocument | None:
        """A live (not trashed) document, or None."""
        return self.documents.get(document_id)

    def get_document_or_version(self, document_id: int) -> FakeDocument | None:
        """A live document, or an extra file version of one (its own row, ``root_document``
        set): the detail route answers for both, the lists only show root documents."""
        return self.documents.get(document_id) or self.versions.get(document_id)

    def touch(self, document: FakeDocument) -> None:
        document.modified = self.now()

    def update_document(self, document: FakeDocument, **changes: object) -> None:
        """Change a document as a person in Paperless's UI would: fields, then ``modified``,
        then the "document updated" workflows."""
        with self.lock:
            for name, value in changes.items():
                setattr(document, "content_override" if name == "content" else name, value)
            if "content" in changes:
                document._checksum = None
            self.touch(document)
        self.emit("updated", document)

    # --- events (workflows) ----------------------------------------------------------------------

    def emit(self, event: str, document: FakeDocument) -> None:
        """Tell the listeners (the fake server's workflow runner) that a document was ``added``
        or ``updated``; seeding emits nothing, like a library that was there before."""
        for listener in list(self.listeners):
            listener(event, document)

    # --- versions (Paperless 3) ------------------------------------------------------------------

    def versions_of(self, root: FakeDocument) -> list[FakeDocument]:
        """The extra versions of a root document, oldest first."""
        return sorted(
            (v for v in self.versions.values() if v.root_document == root.id),
            key=lambda v: (v.version_index or 0, v.id),
        )

    def latest_version(self, document: FakeDocument) -> FakeDocument:
        """What Paperless serves for a root by default: its newest version, else itself."""
        if document.root_document is not None:
            return document
        versions = self.versions_of(document)
        return versions[-1] if versions else document

    def add_version(
        self, root: FakeDocument, *, data: bytes, label: str | None, filename: str
    ) -> FakeDocument:
        """A new file version of ``root`` (what ``update_version``'s consume task makes): its
        own row with ``root_document``; text and images follow the uploaded file's source when it
        is the file of a document we know, as OCR of the same paper would."""
        with self.lock:
            checksum = content.sha256_hex(data)
            known = [*self.documents.values(), *self.trash.values(), *self.versions.values()]
            source = next((d for d in known if d.checksum == checksum), None)
            version_id = self._next_document_id
            self._next_document_id += 1
            now = self.now()
            version = FakeDocument(
                id=version_id,
                title=root.title,
                text_seed=source.text_seed if source else version_id,
                text_variant=source.text_variant if source else 0,
                text_fraction=source.text_fraction if source else 1.0,
                content_override=(
                    source.content_override if source else data.decode("utf-8", "replace")[:100_000]
                ),
                image_seed=source.image_seed if source else version_id,
                image_variant=source.image_variant if source else 0,
                mime_type=source.mime_type if source else root.mime_type,
                page_count=source.page_count if source else root.page_count,
                original_file_name=filename,
                created=root.created,
                added=now,
                modified=now,
                root_document=root.id,
                version_label=label,
                version_index=len(self.versions_of(root)) + 1,
                file_bytes=data,
                _checksum=checksum,
            )
            self.versions[version_id] = version
            self.touch(root)
            return version

    def delete_version(self, root: FakeDocument, version_id: int) -> None:
        with self.lock:
            del self.versions[version_id]
            self.touch(root)

    # --- tasks -----------------------------------------------------------------------------------

    def add_task(self, *, task_type: str, filename: str, mime_type: str) -> dict:
        with self.lock:
            task_id = f"{uuid.UUID(int=self._next_task_id + (7 << 64))}"
            now = self.now()
            task = {
                "id": self._next_task_id,
                "task_id": task_id,
                "task_type": task_type,
                "task_type_display": task_type.replace("_", " ").title(),
                "trigger_source": "api_upload",
                "trigger_source_display": "API Upload",
                "status": "started",
                "status_display": "Started",
                "date_created": now,
                "date_started": now,
                "date_done": None,
                "duration_seconds": None,
                "wait_time_seconds": None,
                "input_data": {"filename": filename, "mime_type": mime_type},
                "result_data": None,
                "related_document_ids": [],
                "acknowledged": False,
                "owner": OWNER_ID,
            }
            self._next_task_id += 1
            self.tasks[task_id] = task
            return task

    def finish_task(
        self, task: dict, *, document_id: int | None = None, error: str | None = None
    ) -> None:
        with self.lock:
            done = self.now()
            task["date_done"] = done
            task["duration_seconds"] = round((done - task["date_started"]).total_seconds(), 6)
            task["wait_time_seconds"] = 0.01
            if error is None:
                task.update(
                    status="success",
                    status_display="Success",
                    result_data={"document_id": document_id},
                    related_document_ids=[document_id],
                )
            else:
                task.update(
                    status="failure",
                    status_display="Failure",
                    result_data={
                        "error_type": "ConsumerError",
                        "error_message": error,
                        "traceback": '  File "<file>", line 585, in trace_task',
                    },
                )

    def trash_document(self, document_id: int) -> None:
        """Move a document to the trash, as DELETE does in Paperless."""
        with self.lock:
            document = self.documents.pop(document_id)
            index = bisect.bisect_left(self._live_ids, document_id)
            del self._live_ids[index]
            document.deleted_at = self.now()
            self.trash[document_id] = document

    def restore_document(self, document_id: int) -> None:
        with self.lock:
            document = self.trash.pop(document_id)
            document.deleted_at = None
            self.touch(document)
            self.documents[document_id] = document
            bisect.insort(self._live_ids, document_id)

    def twins_of(self, document: FakeDocument) -> list[FakeDocument]:
        """Byte-identical documents (same original checksum), trashed ones included."""
        if not document.blob_key:
            return []
        candidates = [*self.documents.values(), *self.trash.values()]
        return [
            other
            for other in candidates
            if other.id != document.id and other.blob_key == document.blob_key
        ]

    # --- other objects ---------------------------------------------------------------------------

    def add_object(self, kind: str, **fields: object) -> dict:
        """Add a tag / correspondent / document type / storage path / custom field."""
        with self.lock:
            object_id = int(fields.pop("id", self._next_object_id[kind]))  # type: ignore[call-overload]
            self._next_object_id[kind] = max(self._next_object_id[kind], object_id + 1)
            name = str(fields.pop("name"))
            if kind == "custom_fields":
                record: dict = {
                    "id": object_id,
                    "name": name,
                    "data_type": fields.pop("data_type", "string"),
                    "extra_data": fields.pop("extra_data", None),
                }
            else:
                record = {
                    "id": object_id,
                    "slug": slugify(name),
                    "name": name,
                    "match": "",
                    "matching_algorithm": 1,
                    "is_insensitive": True,
                    "owner": OWNER_ID,
                    "user_can_change": True,
                }
                if kind == "tags":
                    record.update(
                        color="#a6cee3",
                        text_color="#000000",
                        is_inbox_tag=False,
                        parent=None,
                        children=[],
                    )
                if kind == "storage_paths":
                    record["path"] = "{{ title }}"
            record.update(fields)
            getattr(self, kind)[object_id] = record
            return record

    def add_tag(self, name: str, **fields: object) -> dict:
        return self.add_object("tags", name=name, **fields)

    def add_note(self, document: FakeDocument, text: str) -> dict:
        with self.lock:
            note = {
                "id": self._next_note_id,
                "note": text,
                "created": self.now(),
                "user": {"id": OWNER_ID, "username": "admin", "first_name": "", "last_name": ""},
            }
            self._next_note_id += 1
            document.notes.append(note)
            return note

    # --- seeding ---------------------------------------------------------------------------------

    def seed_corpus(self, rows: list[dict], *, cache: Path) -> dict[int, int]:
        """Documents of the labelled real-OCR corpus (``duplicates.evaluation``): their text,
        metadata, real file and Paperless-style thumbnail from the corpus ``cache``. Returns
        corpus id -> Paperless id."""
        names: dict[tuple[str, str], int] = {}

        def object_id(kind: str, name: str | None) -> int | None:
            if not name:
                return None
            if (kind, name) not in names:
                names[(kind, name)] = self.add_object(kind, name=name)["id"]
            return names[(kind, name)]

        ids = {}
        for row in rows:
            folder = cache / row["recipe"]
            original = next(folder.glob("original.*")).read_bytes()
            added = datetime.fromisoformat(row["added"]).replace(tzinfo=UTC)
            document = self.add_document(
                title=row["title"],
                content=row["content"],
                file_bytes=original,
                thumbnail_override=(folder / "thumbnail.webp").read_bytes(),
                mime_type=row["mime_type"],
                original_file_name=row["original_file_name"],
                page_count=row["page_count"],
                created=date.fromisoformat(row["created"]),
                added=added,
                modified=added,
                correspondent=object_id("correspondents", row.get("correspondent")),
                document_type=object_id("document_types", row.get("document_type")),
            )
            ids[row["id"]] = document.id
        return ids

    def seed(
        self,
        *,
        documents: int,
        duplicate_ratio: float = 0.1,
        tags: int = 5,
        correspondents: int = 4,
        document_types: int = 3,
        random_seed: int = 42,
    ) -> SeedResult:
        """Add ``documents`` generated documents, about ``duplicate_ratio`` of them duplicates.

        Duplicates are of three kinds, recorded in ``duplicate_pairs``: ``exact`` (byte-identical
        file, so Paperless lists it in ``duplicate_documents``), ``near`` (a re-scan: OCR noise, a
        near-identical thumbnail, a different checksum) and ``extract`` (the first third of the
        text, the same first page). Cheap: 100,000 documents take a second or two.
        """
        rng = random.Random(random_seed)
        with self.lock:
            tag_ids = [self.add_tag(f"tag-{n}")["id"] for n in range(1, tags + 1)]
            correspondent_ids = [
                self.add_object("correspondents", name=f"Correspondent {n}")["id"]
                for n in range(1, correspondents + 1)
            ]
            type_ids = [
                self.add_object("document_types", name=f"Type {n}")["id"]
                for n in range(1, document_types + 1)
            ]
            created_ids: list[int] = []
            pairs: list[DuplicatePair] = []
            originals: list[FakeDocument] = []
            base = self.now() - timedelta(days=1)
            start_id = self._next_document_id
            for offset in range(documents):
                document_id = start_id + offset
                stamp = base + timedelta(milliseconds=offset)
                tag_count = rng.randrange(3) if tag_ids else 0
                common = {
                    "tags": rng.sample(tag_ids, tag_count),
                    "correspondent": rng.choice(correspondent_ids) if correspondent_ids else None,
                    "document_type": rng.choice(type_ids) if type_ids else None,
                    "created": date(
                        2015 + document_id % 11, 1 + document_id % 12, 1 + document_id % 28
                    ),
                    "added": stamp,
                    "modified": stamp,
                }
                original = rng.choice(originals) if originals else None
                if original is not None and rng.random() < duplicate_ratio:
                    kind = rng.choice(("exact", "near", "near", "extract"))
                    document = FakeDocument(
                        id=document_id,
                        title=f"{original.title} ({kind} copy)",
                        text_seed=original.text_seed,
                        text_variant=0 if kind == "exact" else document_id,
                        text_fraction=0.34 if kind == "extract" else 1.0,
                        blob_key=original.blob_key if kind == "exact" else f"doc-{document_id}",
                        image_seed=original.image_seed,
                        image_variant=0 if kind == "exact" else 1 + document_id % 5,
                        original_file_name=f"scan-{document_id}.pdf",
                        has_archive=kind == "near",
                        page_count=1 if kind == "extract" else original.page_count,
                        **common,
                    )
                    pairs.append(DuplicatePair(original.id, document_id, kind))
                else:
                    document = FakeDocument(
                        id=document_id,
                        title=f"Letter {document_id} {content.VOCABULARY[document_id % 2000]}",
                        text_seed=document_id,
                        blob_key=f"doc-{document_id}",
                        image_seed=document_id,
                        original_file_name=f"letter-{document_id}.pdf",
                        page_count=1 + document_id % 4,
                        **common,
                    )
                    if len(originals) < 5000:
                        originals.append(document)
                    elif rng.random() < 0.01:
                        originals[rng.randrange(len(originals))] = document
                self.documents[document_id] = document
                created_ids.append(document_id)
            self._live_ids.extend(created_ids)
            self._next_document_id = start_id + documents
            self.duplicate_pairs.extend(pairs)
            return SeedResult(document_ids=created_ids, duplicate_pairs=pairs)
