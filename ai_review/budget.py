"""Money and tokens: prices from the user's table, costs from the API's ``usage``, the estimate
shown before a run, and the monthly budget a run stops at.

Costs are in US dollars, prices per million tokens. Tokens before a run are estimated from
characters; the characters-per-token ratio is calibrated from the ``usage`` of earlier answers of
the same model (4 until there are some).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Avg, Sum

from ai_review.models import ApiCall, Suggestion
from ai_review.truncation import DEFAULT_CHARS_PER_TOKEN

MILLION = Decimal(1_000_000)
DEFAULT_ANSWER_TOKENS = 300
CALIBRATION_SAMPLE = 200


@dataclass(frozen=True)
class Price:
    input: Decimal
    output: Decimal


def price_for(model: str, table: dict[str, Any]) -> Price | None:
    """The model's price: its own row, else the longest row name it starts with (a dated
    version such as ``gpt-4o-mini-2024-07-18`` costs what ``gpt-4o-mini`` costs)."""
    row = table.get(model)
    if row is None:
        prefixes = [name for name in table if model.startswith(name)]
        row = table[max(prefixes, key=len)] if prefixes else None
    if row is None:
        return None
    return Price(input=Decimal(str(row["input"])), output=Decimal(str(row["output"])))


def cost_of(*, prompt_tokens: int, completion_tokens: int, price: Price | None) -> Decimal | None:
    if price is None:
        return None
    cost = (
        Decimal(prompt_tokens) * price.input + Decimal(completion_tokens) * price.output
    ) / MILLION
    return cost.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def month_usage() -> dict[str, Any]:
    """Tokens and cost of this calendar month (in the app's time zone)."""
    return ApiCall.objects.this_month().totals()


def budget_left(budget: Decimal | None) -> Decimal | None:
    """What is left of the monthly budget (never below 0); None without a budget."""
    if budget is None:
        return None
    return max(Decimal(0), Decimal(budget) - month_usage()["cost"])


def chars_per_token(model: str) -> tuple[float, bool]:
    """Characters per prompt token for ``model`` from recorded usage, and whether it is measured."""
    rows = list(
        Suggestion.objects.filter(run__model=model, prompt_tokens__gt=0, prompt_chars__gt=0)
        .order_by("-pk")
        .values_list("prompt_chars", "prompt_tokens")[:CALIBRATION_SAMPLE]
    )
    if not rows:
        return DEFAULT_CHARS_PER_TOKEN, False
    chars = sum(r[0] for r in rows)
    tokens = sum(r[1] for r in rows)
    return min(8.0, max(1.5, chars / tokens)), True


def answer_tokens(model: str) -> int:
    """The usual answer length of ``model`` (tokens), from recorded usage."""
    average = (
        Suggestion.objects.filter(run__model=model, completion_tokens__gt=0)
        .order_by("-pk")[:CALIBRATION_SAMPLE]
        .aggregate(avg=Avg("completion_tokens"))["avg"]
    )
    return round(average) if average else DEFAULT_ANSWER_TOKENS


@dataclass(frozen=True)
class Estimate:
    documents: int
    prompt_tokens: int
    completion_tokens: int
    completion_tokens_max: int
    cost: Decimal | None
    cost_max: Decimal | None
    price_known: bool
    budget: Decimal | None
    budget_left: Decimal | None
    documents_within_budget: int | None
    chars_per_token: float
    calibrated: bool

    def as_dict(self) -> dict[str, Any]:
        def money(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "documents": self.documents,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "completion_tokens_max": self.completion_tokens_max,
            "cost": money(self.cost),
            "cost_max": money(self.cost_max),
            "price_known": self.price_known,
            "budget": money(self.budget),
            "budget_left": money(self.budget_left),
            "documents_within_budget": self.documents_within_budget,
            "chars_per_token": round(self.chars_per_token, 2),
            "calibrated": self.calibrated,
        }


def estimate(
    *,
    prompt_chars: list[int],
    model: str,
    price: Price | None,
    max_output_tokens: int,
    budget: Decimal | None,
) -> Estimate:
    """What sending documents whose prompts have ``prompt_chars`` characters should cost:
    expected (usual answer length) and at most (every answer as long as allowed)."""
    ratio, calibrated = chars_per_token(model)
    per_document = [int(-(-chars // ratio)) for chars in prompt_chars]
    answer = min(answer_tokens(model), max_output_tokens)
    prompt_total = sum(per_document)
    completion = answer * len(per_document)
    completion_max = max_output_tokens * len(per_document)
    cost = cost_of(prompt_tokens=prompt_total, completion_tokens=completion, price=price)
    cost_max = cost_of(prompt_tokens=prompt_total, completion_tokens=completion_max, price=price)
    left = budget_left(budget)
    within: int | None = None
    if left is not None and price is not None:
        within, spent = 0, Decimal(0)
        for tokens in per_document:
            worst = cost_of(prompt_tokens=tokens, completion_tokens=max_output_tokens, price=price)
            assert worst is not None
            if spent + worst > left:
                break
            spent += worst
            within += 1
    return Estimate(
        documents=len(per_document),
        prompt_tokens=prompt_total,
        completion_tokens=completion,
        completion_tokens_max=completion_max,
        cost=cost,
        cost_max=cost_max,
        price_known=price is not None,
        budget=Decimal(budget) if budget is not None else None,
        budget_left=left,
        documents_within_budget=within,
        chars_per_token=ratio,
        calibrated=calibrated,
    )


def run_totals(run_id: int) -> dict[str, Any]:
    return ApiCall.objects.filter(run_id=run_id).totals()


def all_time_totals() -> dict[str, Any]:
    row = ApiCall.objects.aggregate(
        prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"), cost=Sum("cost")
    )
    return {
        "prompt_tokens": row["prompt"] or 0,
        "completion_tokens": row["completion"] or 0,
        "cost": row["cost"] or Decimal(0),
    }
