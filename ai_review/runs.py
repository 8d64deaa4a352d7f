"""AI runs: made from a selection (with an estimate) and started by a person, or queued for new
documents by the webhook; carried out by the ``ai`` job, one document at a time.

For each document, just before it is sent: the budget is checked (a run stops cleanly, before the
document that could overspend the month), the document is re-read from Paperless (gone -> skipped;
a protected tag -> skipped, never sent), its text is cut to the token budget, and the model's
answer is validated into per-field suggestions. Tokens and cost come from the answer's ``usage``
and go into the ledger (:class:`ai_review.models.ApiCall`) even when the answer is unusable.

The job is resumable: progress is the suggestions' status, so a resumed or continued run asks only
for the documents still waiting.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from ai_review import budget, prompt
from ai_review.answers import AnswerRejected, CurrentMetadata, read_answer
from ai_review.llm import (
    AiCallFailed,
    AiClient,
    AiNotConfigured,
    AiSettings,
    AiUnavailable,
    ai_settings,
    check_usable,
)
from ai_review.models import ApiCall, FieldSuggestion, ReviewRun, Suggestion
from ai_review.selection import Selection, choose, protected_tag_ids
from ai_review.truncation import excerpt
from documents.connection import ConnectionNotConfigured, get_client
from documents.models import (
    Correspondent,
    CustomField,
    Document,
    DocumentContent,
    DocumentType,
    Tag,
)
from documents.paperless import (
    AuthenticationError,
    NotFound,
    PaperlessClient,
    PaperlessError,
    RateLimited,
    ServerError,
    Unreachable,
)
from processing import jobs
from processing.jobs import JobCancelled, JobContext, job_kind
from processing.models import Job

logger = logging.getLogger(__name__)

CONSECUTIVE_FAILURES_STOP = 3
"""Documents failing in a row on timeouts or 5xx (after the SDK's retries) before the run stops:
one bad document fails alone, a dead endpoint does not fail the whole run one by one."""
PAPERLESS_FATAL = (
    Unreachable,
    ServerError,
    RateLimited,
    AuthenticationError,
    ConnectionNotConfigured,
)
DOCUMENT_FIELDS = (
    "id",
    "title",
    "content",
    "tags",
    "correspondent",
    "document_type",
    "created",
    "modified",
    "custom_fields",
    "original_file_name",
)


class RunError(Exception):
    """A run cannot be made or started; the message is for a person."""

    def __init__(self, message: str, *, code: str = "invalid_run", status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _who(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


# --- vocabulary ----------------------------------------------------------------------------------


def _by_use(rows: list[dict[str, Any]]) -> dict[str, int]:
    ordered = sorted(rows, key=lambda r: (-(r.get("document_count") or 0), str(r.get("name"))))
    return {str(r["name"]): int(r["id"]) for r in ordered if r.get("name")}


def _options(raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    options = (raw.get("extra_data") or {}).get("select_options") or []
    result = []
    for index, option in enumerate(options):
        if isinstance(option, dict) and option.get("label") is not None:
            result.append((str(option.get("id", index)), str(option["label"])))
        elif isinstance(option, str):
            result.append((str(index), option))
    return tuple(result)


def vocabulary_from_paperless(client: PaperlessClient) -> prompt.Vocabulary:
    """What exists in Paperless now, most used first."""
    return prompt.Vocabulary(
        correspondents=_by_use(client.list_correspondents()),
        document_types=_by_use(client.list_document_types()),
        tags=_by_use(client.list_tags()),
        custom_fields={
            str(raw["name"]): prompt.CustomFieldInfo(
                id=int(raw["id"]),
                name=str(raw["name"]),
                data_type=str(raw.get("data_type") or ""),
                options=_options(raw),
            )
            for raw in client.list_custom_fields()
            if raw.get("name")
        },
    )


def vocabulary_from_mirror() -> prompt.Vocabulary:
    """The same from our mirror (for estimates, without asking Paperless)."""

    def names(model: Any) -> dict[str, int]:
        rows = model.objects.annotate(n=Count("documents")).order_by("-n", "name")
        return {row.name: row.paperless_id for row in rows}

    return prompt.Vocabulary(
        correspondents=names(Correspondent),
        document_types=names(DocumentType),
        tags=names(Tag),
        custom_fields={
            f.name: prompt.CustomFieldInfo(id=f.paperless_id, name=f.name, data_type=f.data_type)
            for f in CustomField.objects.all()
        },
    )


# --- making and starting runs --------------------------------------------------------------------


def _config() -> Any:
    from dedupe_project.models import Configuration

    return Configuration.objects.get_solo()


def _price(ai: AiSettings) -> budget.Price | None:
    return budget.price_for(ai.model, _config().ai_price_table)


def _prompt_overhead(ai: AiSettings, vocabulary: prompt.Vocabulary) -> int:
    empty = prompt.DocumentInput(title="", text="")
    messages = prompt.messages(document=empty, vocabulary=vocabulary, max_tags=ai.max_tags)
    schema = prompt.response_format(vocabulary)
    return sum(len(m["content"]) for m in messages) + len(json.dumps(schema))


def estimate_for(documents: list[Document], *, ai: AiSettings) -> budget.Estimate:
    """The estimate: each document's prompt as it will be sent (its text cut the same way),
    from the mirror's texts."""
    ratio, _ = budget.chars_per_token(ai.model)
    overhead = _prompt_overhead(ai, vocabulary_from_mirror())
    chars = []
    for start in range(0, len(documents), 500):
        chunk = documents[start : start + 500]
        texts = dict(
            DocumentContent.objects.filter(document__in=chunk).values_list("document_id", "text")
        )
        for document in chunk:
            cut = excerpt(
                texts.get(document.pk, ""), max_tokens=ai.max_input_tokens, chars_per_token=ratio
            )
            chars.append(overhead + 200 + len(cut.text))
    return budget.estimate(
        prompt_chars=chars,
        model=ai.model,
        price=_price(ai),
        max_output_tokens=ai.max_output_tokens,
        budget=_config().ai_monthly_budget,
    )


def _check_budget_allows(ai: AiSettings) -> None:
    config = _config()
    if config.ai_monthly_budget is None:
        return
    if _price(ai) is None:
        raise RunError(
            f"There is no price for the model '{ai.model}' in the AI price table, so the monthly "
            "budget cannot be kept: add it in AI settings (0 and 0 for a local model).",
            code="price_unknown",
        )
    left = budget.budget_left(config.ai_monthly_budget)
    if left is not None and left <= 0:
        raise RunError(
            f"This month's AI budget (${config.ai_monthly_budget}) is used up: raise it in AI "
            "settings, or wait for next month.",
            code="budget_reached",
            status=409,
        )


@transaction.atomic
def create_run(
    *, selection: Selection, user: Any = None, source: str = ReviewRun.Source.PAGE
) -> ReviewRun:
    """A draft run for the documents ``selection`` chooses (at most the per-run limit), with its
    estimate. Nothing is sent until :func:`start_run`."""
    ai = ai_settings()
    try:
        check_usable(ai)
    except AiNotConfigured as exc:
        raise RunError(str(exc), code="not_configured") from exc
    config = _config()
    chosen = choose(selection, limit=config.ai_run_document_limit)
    if not chosen.documents:
        reasons = ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in chosen.left_out.items())
        raise RunError(
            "No document to send"
            + (f" ({chosen.matching} matched; left out: {reasons})." if reasons else "."),
            code="empty_selection",
        )
    price = _price(ai)
    estimate = estimate_for(chosen.documents, ai=ai)
    run = ReviewRun.objects.create(
        source=source,
        selection={
            **selection.as_dict(),
            "described": selection.describe(),
            "left_out": chosen.left_out,
        },
        model=ai.model,
        endpoint=ai.endpoint,
        price_input=price.input if price else None,
        price_output=price.output if price else None,
        estimate=estimate.as_dict(),
        created_by=_who(user),
    )
    Suggestion.objects.bulk_create(
        [
            Suggestion(
                run=run,
                position=position,
                document=document,
                paperless_id=document.paperless_id,
                title=document.title[:1024],
            )
            for position, document in enumerate(chosen.documents)
        ],
        batch_size=1000,
    )
    return run


def start_run(*, run: ReviewRun, user: Any = None) -> Job:
    """Queue the run's job (a draft, or a run that stopped, failed or was cancelled with
    documents still waiting: it continues with them)."""
    ai = ai_settings()
    try:
        check_usable(ai)
    except AiNotConfigured as exc:
        raise RunError(str(exc), code="not_configured") from exc
    _check_budget_allows(ai)
    with transaction.atomic():
        locked = ReviewRun.objects.select_for_update().get(pk=run.pk)
        if locked.is_active:
            raise RunError("The run is already queued or running.", code="run_active", status=409)
        if not locked.suggestions.filter(status=Suggestion.Status.PENDING).exists():
            raise RunError(
                "No document of this run is waiting.", code="nothing_waiting", status=409
            )
        job = jobs.enqueue(kind=Job.Kind.AI, params={"run": locked.pk}, user=user)
        locked.status = ReviewRun.Status.QUEUED
        locked.job = job
        locked.stopped_reason = ""
        locked.error = ""
        locked.finished_at = None
        locked.save(update_fields=["status", "job", "stopped_reason", "error", "finished_at"])
    run.refresh_from_db()
    return job


def retry_failed(*, run: ReviewRun, user: Any = None) -> Job:
    """Ask again for the run's failed documents."""
    with transaction.atomic():
        changed = run.suggestions.filter(status=Suggestion.Status.FAILED).update(
            status=Suggestion.Status.PENDING, reason=""
        )
        if not changed:
            raise RunError("No document of this run failed.", code="nothing_failed", status=409)
    return start_run(run=run, user=user)


def queue_for_review(*, document_ids: list[int], user: Any = None) -> ReviewRun | None:
    """For the webhook handler: send new documents (Paperless ids, already in the mirror) for AI
    suggestions when the setting "AI review of new documents" is on. Returns the started run, or
    None when the setting is off, AI is not usable, or no document qualifies (protected tag, no
    text, suggested before, over budget). Never raises for those: a webhook must not fail."""
    if not document_ids or not _config().ai_review_new_documents:
        return None
    selection = Selection(document_ids=tuple(int(pk) for pk in document_ids))
    try:
        run = create_run(selection=selection, user=user, source=ReviewRun.Source.WEBHOOK)
        start_run(run=run, user=user)
    except RunError as exc:
        logger.info("new documents not sent for AI review: %s", exc, extra={"code": exc.code})
        return None
    return run


# --- the job -------------------------------------------------------------------------------------


@job_kind(Job.Kind.AI, queue="ai")
def suggest_job(ctx: JobContext) -> dict[str, Any]:
    return execute_run(run_id=int(ctx.params["run"]), ctx=ctx)


def execute_run(*, run_id: int, ctx: JobContext | None = None) -> dict[str, Any]:
    """Ask the model about every waiting document of the run; safe to call again."""
    run = ReviewRun.objects.get(pk=run_id)
    if run.status in (ReviewRun.Status.DONE, ReviewRun.Status.DRAFT):
        return {"run": run.pk, **run.suggestion_counts()}
    ReviewRun.objects.filter(pk=run.pk).update(status=ReviewRun.Status.RUNNING, error="")
    try:
        ai = ai_settings()
        check_usable(ai)
        with get_client() as paperless, AiClient(ai) as client:
            stopped = _RunExecutor(
                run=run, ai=ai, paperless=paperless, client=client, ctx=ctx
            ).run()
    except JobCancelled:
        _finish(run, status=ReviewRun.Status.CANCELLED)
        raise
    except (AiNotConfigured, AiUnavailable, *PAPERLESS_FATAL) as exc:
        _finish(run, status=ReviewRun.Status.FAILED, error=str(exc))
        raise
    except Exception as exc:
        _finish(run, status=ReviewRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    if stopped:
        _finish(run, status=ReviewRun.Status.STOPPED, stopped=stopped)
    else:
        _finish(run, status=ReviewRun.Status.DONE)
    return {"run": run.pk, "stopped": stopped, **run.suggestion_counts(), **_usage(run)}


def _usage(run: ReviewRun) -> dict[str, Any]:
    totals = run.usage()
    return {
        "prompt_tokens": totals["prompt_tokens"],
        "completion_tokens": totals["completion_tokens"],
        "cost": str(totals["cost"]),
    }


def _finish(run: ReviewRun, *, status: str, error: str = "", stopped: str = "") -> None:
    ReviewRun.objects.filter(pk=run.pk).update(
        status=status, error=error, stopped_reason=stopped, finished_at=timezone.now()
    )
    run.refresh_from_db()


class _Skip(Exception):
    pass


@dataclass
class _Document:
    raw: dict[str, Any]
    text: str


class _RunExecutor:
    def __init__(
        self,
        *,
        run: ReviewRun,
        ai: AiSettings,
        paperless: PaperlessClient,
        client: AiClient,
        ctx: JobContext | None,
    ) -> None:
        self.run_row = run
        self.ai = ai
        self.paperless = paperless
        self.client = client
        self.ctx = ctx
        config = _config()
        self.protected = set(config.ai_protected_tag_ids or [])
        self.budget_limit: Decimal | None = config.ai_monthly_budget
        self.price = budget.price_for(ai.model, config.ai_price_table)
        self.ratio, _ = budget.chars_per_token(ai.model)
        self.vocabulary = vocabulary_from_paperless(paperless)
        self.response_format = prompt.response_format(self.vocabulary)
        self.overhead_tokens = int(-(-_prompt_overhead(ai, self.vocabulary) // self.ratio))
        self.consecutive_failures = 0
        self.today = timezone.localdate()

    def run(self) -> str:
        """Returns why the run stopped early ("" when every document was asked about)."""
        run = self.run_row
        total = run.suggestions.count()
        done = run.suggestions.exclude(status=Suggestion.Status.PENDING).count()
        pending = list(
            run.suggestions.filter(status=Suggestion.Status.PENDING).order_by("position")
        )
        self._progress(done, total, force=True)
        for suggestion in pending:
            if self.ctx is not None:
                self.ctx.check_cancelled()
            stop = self._budget_stop(suggestion)
            if stop:
                return stop
            self.process(suggestion)
            done += 1
            self._progress(done, total)
            if self.ctx is not None:
                self.ctx.save_checkpoint({"run": run.pk, "position": suggestion.position})
        self._progress(done, total, force=True)
        return ""

    def _progress(self, done: int, total: int, *, force: bool = False) -> None:
        if self.ctx is None:
            return
        counts = self.run_row.suggestion_counts()
        usage = self.run_row.usage()
        self.ctx.progress(
            done=done,
            total=total,
            message=(
                f"{counts['done']} suggested, {counts['failed']} failed, {counts['skipped']} "
                f"skipped; {usage['total_tokens']} tokens"
            ),
            counts={k: counts[k] for k in ("done", "failed", "skipped")},
            force=force,
        )

    # -- budget --

    def _budget_stop(self, suggestion: Suggestion) -> str:
        if self.budget_limit is None or self.price is None:
            return ""
        spent = budget.month_usage()["cost"]
        chars = (suggestion.document.content_length if suggestion.document else 0) or 0
        text_tokens = min(self.ai.max_input_tokens, int(-(-chars // self.ratio)))
        worst = budget.cost_of(
            prompt_tokens=text_tokens + self.overhead_tokens,
            completion_tokens=self.ai.max_output_tokens,
            price=self.price,
        )
        assert worst is not None
        if spent + worst > Decimal(self.budget_limit):
            waiting = self.run_row.suggestions.filter(status=Suggestion.Status.PENDING).count()
            return (
                f"The monthly AI budget (${self.budget_limit}) would be exceeded: ${spent:.4f} "
                f"spent this month, up to ${worst:.4f} for the next document. {waiting} "
                "document(s) still wait: raise the budget in AI settings and continue the run."
            )
        return ""

    # -- one document --

    def _read(self, suggestion: Suggestion) -> _Document:
        try:
            raw = self.paperless.get_document(suggestion.paperless_id, fields=DOCUMENT_FIELDS)
        except NotFound:
            raise _Skip("It is gone from Paperless (deleted or in the trash).") from None
        protected = self.protected.intersection(raw.get("tags") or [])
        if protected:
            names = Tag.objects.filter(paperless_id__in=protected).values_list("name", flat=True)
            raise _Skip(
                f"It carries a protected tag ({', '.join(names) or 'protected'}): never sent."
            )
        text = str(raw.get("content") or "").strip()
        if not text:
            raise _Skip("It has no text (no OCR): nothing to read.")
        return _Document(raw=raw, text=text)

    def _input(self, doc: _Document) -> tuple[prompt.DocumentInput, CurrentMetadata, Any]:
        raw = doc.raw
        vocab = self.vocabulary
        correspondents = vocab.names("correspondents")
        types = vocab.names("document_types")
        tag_names = vocab.names("tags")
        custom_values = {
            int(entry["field"]): entry.get("value")
            for entry in raw.get("custom_fields") or []
            if isinstance(entry, dict) and isinstance(entry.get("field"), int)
        }
        named_custom = {}
        for field_id, value in custom_values.items():
            info = vocab.custom_field_by_id(field_id)
            if info is not None:
                named_custom[info.name] = value
        cut = excerpt(doc.text, max_tokens=self.ai.max_input_tokens, chars_per_token=self.ratio)
        created = raw.get("created")
        document = prompt.DocumentInput(
            title=str(raw.get("title") or ""),
            text=cut.text,
            truncated=cut.truncated,
            original_file_name=str(raw.get("original_file_name") or ""),
            correspondent=correspondents.get(raw.get("correspondent")),
            document_type=types.get(raw.get("document_type")),
            tags=tuple(tag_names[t] for t in raw.get("tags") or [] if t in tag_names),
            created=created if isinstance(created, date) else None,
            custom_fields=named_custom,
        )
        current = CurrentMetadata(
            title=document.title,
            correspondent=raw.get("correspondent"),
            document_type=raw.get("document_type"),
            tags=tuple(raw.get("tags") or ()),
            created=document.created,
            custom_fields=custom_values,
        )
        return document, current, cut

    def process(self, suggestion: Suggestion) -> None:
        try:
            doc = self._read(suggestion)
        except _Skip as skip:
            self._close(suggestion, status=Suggestion.Status.SKIPPED, reason=str(skip))
            return
        except PaperlessError as exc:
            if isinstance(exc, PAPERLESS_FATAL):
                raise
            self._close(suggestion, status=Suggestion.Status.FAILED, reason=f"Paperless: {exc}")
            return
        document, current, cut = self._input(doc)
        messages = prompt.messages(
            document=document, vocabulary=self.vocabulary, max_tags=self.ai.max_tags
        )
        raw = doc.raw
        suggestion.snapshot = {
            "title": raw.get("title") or "",
            "correspondent": raw.get("correspondent"),
            "document_type": raw.get("document_type"),
            "tags": list(raw.get("tags") or []),
            "created": raw["created"].isoformat() if raw.get("created") else None,
            "custom_fields": raw.get("custom_fields") or [],
        }
        suggestion.modified = raw.get("modified")
        suggestion.excerpt = cut.text
        suggestion.truncated = cut.truncated
        suggestion.prompt_chars = sum(len(m["content"]) for m in messages) + len(
            json.dumps(self.response_format)
        )
        suggestion.attempts += 1
        try:
            completion = self.client.complete(
                messages=messages, response_format=self.response_format
            )
        except AiCallFailed as exc:
            self.consecutive_failures = self.consecutive_failures + 1 if exc.transient else 0
            if self.consecutive_failures >= CONSECUTIVE_FAILURES_STOP:
                raise AiUnavailable(
                    f"{self.consecutive_failures} documents in a row failed ({exc}). The "
                    "endpoint seems down or overloaded: resume the run when it is back."
                ) from None
            self._close(suggestion, status=Suggestion.Status.FAILED, reason=str(exc))
            return
        self.consecutive_failures = 0
        self._record_usage(suggestion, completion)
        if completion.refusal:
            self._close(
                suggestion,
                status=Suggestion.Status.FAILED,
                reason=f"The model refused: {completion.refusal[:300]}",
            )
            return
        if completion.finish_reason == "length":
            self._close(
                suggestion,
                status=Suggestion.Status.FAILED,
                reason=f"The answer was cut off at {self.ai.max_output_tokens} tokens: raise "
                "'Most answer tokens per document' in AI settings and retry.",
            )
            return
        if completion.finish_reason == "content_filter":
            self._close(
                suggestion,
                status=Suggestion.Status.FAILED,
                reason="The endpoint's content filter stopped the answer.",
            )
            return
        try:
            reading = read_answer(
                completion.content,
                vocabulary=self.vocabulary,
                current=current,
                text=doc.text,
                max_tags=self.ai.max_tags,
                today=self.today,
            )
        except AnswerRejected as exc:
            self._close(suggestion, status=Suggestion.Status.FAILED, reason=str(exc))
            return
        with transaction.atomic():
            FieldSuggestion.objects.filter(suggestion=suggestion).delete()
            FieldSuggestion.objects.bulk_create(
                [
                    FieldSuggestion(
                        suggestion=suggestion,
                        position=position,
                        field=p.field,
                        key=p.key,
                        label=p.label,
                        value=p.value,
                        display=p.display,
                        current_display=p.current_display,
                        suggested_value=p.value,
                        suggested_display=p.display,
                        confidence=p.confidence,
                        evidence=p.evidence,
                        evidence_found=p.evidence_found,
                        is_new=p.is_new,
                        meta=self._meta(p.key),
                    )
                    for position, p in enumerate(reading.proposals)
                ]
            )
            suggestion.notes = reading.notes
            self._close(suggestion, status=Suggestion.Status.DONE)

    def _meta(self, key: str) -> dict[str, Any]:
        if not key.startswith("custom_field:"):
            return {}
        info = self.vocabulary.custom_field_by_id(int(key.split(":", 1)[1]))
        if info is None:
            return {}
        return {
            "field_id": info.id,
            "data_type": info.data_type,
            "options": [list(option) for option in info.options],
        }

    def _record_usage(self, suggestion: Suggestion, completion: Any) -> None:
        prompt_tokens = completion.prompt_tokens
        completion_tokens = completion.completion_tokens
        if not completion.usage_reported:
            prompt_tokens = int(-(-suggestion.prompt_chars // self.ratio))
            completion_tokens = int(-(-len(completion.content or "") // self.ratio))
        cost = budget.cost_of(
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, price=self.price
        )
        ApiCall.objects.create(
            run=self.run_row,
            suggestion=suggestion,
            model=self.ai.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
            usage_reported=completion.usage_reported,
        )
        suggestion.prompt_tokens += prompt_tokens
        suggestion.completion_tokens += completion_tokens
        if cost is not None:
            suggestion.cost = (suggestion.cost or Decimal(0)) + cost
        if not completion.usage_reported:
            suggestion.prompt_chars = 0  # estimated tokens must not calibrate the estimate

    def _close(self, suggestion: Suggestion, *, status: str, reason: str = "") -> None:
        suggestion.status = status
        suggestion.reason = reason
        suggestion.finished_at = timezone.now()
        suggestion.save()


def protected_documents_count() -> int:
    protected = protected_tag_ids()
    if not protected:
        return 0
    return Document.objects.filter(tags__paperless_id__in=protected).distinct().count()
