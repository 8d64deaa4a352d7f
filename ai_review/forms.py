from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from dedupe_project.models import Configuration


class RunForm(forms.Form):
    """Which documents to send. Filters combine (all must match)."""

    resolved_primaries = forms.BooleanField(
        label="Kept documents of resolved duplicate groups", required=False
    )
    untagged = forms.BooleanField(label="Without tags", required=False)
    no_correspondent = forms.BooleanField(label="Without correspondent", required=False)
    tag = forms.TypedChoiceField(
        label="With the tag", required=False, coerce=int, empty_value=None, choices=()
    )
    document_ids = forms.CharField(required=False, widget=forms.MultipleHiddenInput)
    skip_suggested = forms.BooleanField(
        label="Leave out documents that already have suggestions", required=False, initial=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from documents.models import Tag

        self.fields["tag"].choices = [
            ("", "Any"),
            *Tag.objects.order_by("name").values_list("paperless_id", "name"),
        ]

    def clean_document_ids(self) -> list[int]:
        raw = self.data.getlist("document_ids") if hasattr(self.data, "getlist") else []
        ids = [int(value) for value in raw if str(value).isdigit()]
        return ids

    def selection(self) -> Any:
        from ai_review.selection import Selection

        data = self.cleaned_data
        return Selection(
            resolved_primaries=data["resolved_primaries"],
            untagged=data["untagged"],
            no_correspondent=data["no_correspondent"],
            tag=data["tag"],
            document_ids=tuple(data["document_ids"]),
            skip_suggested=data["skip_suggested"],
        )


def price_table_text(table: dict[str, dict[str, float]]) -> str:
    return "\n".join(f"{model} {row['input']:g} {row['output']:g}" for model, row in table.items())


def parse_price_table(text: str) -> dict[str, dict[str, float]]:
    """Lines of ``model input output`` (USD per million tokens) to the stored table."""
    table: dict[str, dict[str, float]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise forms.ValidationError(
                f"Line {number}: write the model name, the input price and the output price."
            )
        try:
            prices = [Decimal(parts[1].replace(",", ".")), Decimal(parts[2].replace(",", "."))]
        except InvalidOperation:
            raise forms.ValidationError(f"Line {number}: the prices must be numbers.") from None
        table[parts[0]] = {"input": float(prices[0]), "output": float(prices[1])}
    return table


class AiSettingsForm(forms.ModelForm):
    """The AI connection, key, limits and budget (admin). Ranges are checked by the model, the
    same checks ``/api/config`` makes."""

    ai_base_url = forms.URLField(
        label="AI base URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://api.openai.com/v1"}),
        help_text="Empty for OpenAI; e.g. http://localhost:11434/v1 for Ollama. Overridden by "
        "OPENAI_BASE_URL.",
    )
    openai_api_key = forms.CharField(
        label="API key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted, and only ever sent to the base URL it is entered with. "
        "Leave empty to keep the stored key. A local server (Ollama) needs none.",
    )
    clear_openai_api_key = forms.BooleanField(label="Remove the stored key", required=False)
    protected_tags = forms.TypedMultipleChoiceField(
        label="Protected tags",
        required=False,
        coerce=int,
        help_text="Documents with any of these tags are never sent to the AI.",
    )
    price_table = forms.CharField(
        label="Prices (USD per million tokens)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="One model a line: name, input price, output price (e.g. 'gpt-4o-mini 0.15 "
        "0.6'). A local model costs nothing: 'llama3.1:8b 0 0'.",
    )

    class Meta:
        model = Configuration
        fields = [
            "ai_base_url",
            "ai_model",
            "ai_timeout_seconds",
            "ai_max_input_tokens",
            "ai_max_output_tokens",
            "ai_temperature",
            "ai_requests_per_minute",
            "ai_max_retries",
            "ai_max_tags",
            "ai_monthly_budget",
            "ai_run_document_limit",
            "ai_accept_threshold",
            "ai_review_new_documents",
        ]
        widgets = {
            "ai_temperature": forms.NumberInput(attrs={"step": "0.1"}),
            "ai_accept_threshold": forms.NumberInput(attrs={"step": "0.05"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from documents.models import Tag

        self.fields["protected_tags"].choices = list(
            Tag.objects.order_by("name").values_list("paperless_id", "name")
        )
        self.fields["protected_tags"].initial = self.instance.ai_protected_tag_ids
        self.fields["price_table"].initial = price_table_text(self.instance.ai_price_table or {})

    def clean_price_table(self) -> dict[str, dict[str, float]]:
        return parse_price_table(self.cleaned_data.get("price_table") or "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "price_table" in cleaned:
            self.instance.ai_price_table = cleaned["price_table"]
        self.instance.ai_protected_tag_ids = cleaned.get("protected_tags") or []
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()
        for model_field, form_field in (
            ("ai_price_table", "price_table"),
            ("ai_protected_tag_ids", "protected_tags"),
        ):
            if model_field in self._errors:
                self.add_error(form_field, self._errors.pop(model_field))

    def save(self, commit: bool = True) -> Configuration:
        config = super().save(commit=False)
        if self.cleaned_data.get("clear_openai_api_key"):
            config.set_secret("openai_api_key", "")
        elif self.cleaned_data.get("openai_api_key"):
            config.set_secret("openai_api_key", self.cleaned_data["openai_api_key"])
        if commit:
            config.save()
        return config
