from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import BaseUserCreationForm

from dedupe_project.models import FACTORS, Configuration


class FirstAdminForm(BaseUserCreationForm):
    """Creates the first account, a superuser, on a fresh install."""

    class Meta:
        model = get_user_model()
        fields = ("username", "email")

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=False)
        user.is_staff = True
        user.is_superuser = True
        if commit:
            user.save()
        return user


class ConfigurationForm(forms.ModelForm):
    """The settings page. Field types are checked here; ranges and consistency by the model, the
    same validation the API uses."""

    class Meta:
        model = Configuration
        fields = [
            "duplicate_threshold",
            "groups_per_page",
            "dry_run",
            "dry_run_tag_id",
            "sync_interval_minutes",
            "paperless_requests_per_second",
            "paperless_timeout_seconds",
            "paperless_file_workers",
            "thumbnail_cache_mb",
        ]
        widgets = {
            "duplicate_threshold": forms.NumberInput(attrs={"step": "0.01"}),
            "paperless_requests_per_second": forms.NumberInput(attrs={"step": "0.5"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from documents.models import Tag

        tags = [(tag.paperless_id, tag.name) for tag in Tag.objects.only("paperless_id", "name")]
        self.fields["dry_run_tag_id"] = forms.TypedChoiceField(
            label="Dry-run tag",
            choices=[
                ("", f"Create '{self.instance.dry_run_tag_name}' at the first dry run"),
                *tags,
            ],
            coerce=int,
            empty_value=None,
            required=False,
            help_text="In dry-run mode, deleting only adds this tag in Paperless.",
        )
        weights = self.instance.factor_weights or {}
        for name, label in FACTORS.items():
            current = weights.get(name, {"weight": 0, "enabled": False})
            self.fields[f"factor_{name}_enabled"] = forms.BooleanField(
                label=label, required=False, initial=current["enabled"]
            )
            self.fields[f"factor_{name}_weight"] = forms.FloatField(
                label=f"{name} weight",
                initial=current["weight"],
                widget=forms.NumberInput(attrs={"step": "0.05", "min": "0", "max": "5"}),
            )

    def factor_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "label": label,
                "enabled": self[f"factor_{name}_enabled"],
                "weight": self[f"factor_{name}_weight"],
            }
            for name, label in FACTORS.items()
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        weights = {}
        for name in FACTORS:
            weight = cleaned.get(f"factor_{name}_weight")
            if weight is None:
                return cleaned
            weights[name] = {
                "weight": weight,
                "enabled": bool(cleaned.get(f"factor_{name}_enabled")),
            }
        self.instance.factor_weights = weights
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()
        # Errors the model raises about the weights belong to the factor table.
        if "factor_weights" in self._errors:
            self.add_error(None, self._errors.pop("factor_weights"))


class ConnectionForm(forms.Form):
    url = forms.URLField(
        label="Paperless URL",
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "http://paperless.lan:8000"}),
    )
    token = forms.CharField(
        label="API token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="From your Paperless profile (My Profile, API Auth Token). Stored encrypted. "
        "Leave empty to keep the stored token.",
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What will use it, e.g. 'home assistant'.")
    user = forms.ModelChoiceField(
        label="Acts as",
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        help_text="The token has this account's role (a viewer's token can only read).",
    )
