from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_prometheus.exports import ExportToDjangoView

from dedupe_project.access import (
    ADMIN,
    API_TOKENS,
    CONNECTION,
    PUBLIC,
    READ,
    SETTINGS,
    access,
    assign_role,
)
from dedupe_project.forms import ApiTokenForm, ConfigurationForm, ConnectionForm, FirstAdminForm
from dedupe_project.models import ApiToken, Configuration, normalise_url
from dedupe_project.reanalysis import queue_rescore_if_changed, scoring_fingerprint
from processing.models import Job


def no_users_yet() -> bool:
    return not get_user_model().objects.exists()


@access(PUBLIC)
class LoginView(auth_views.LoginView):
    """Django's login page, pointing a fresh install to the first-run page."""

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        return {**super().get_context_data(**kwargs), "first_run_available": no_users_yet()}


@access(PUBLIC)
@require_http_methods(["GET", "POST"])
def first_run(request: HttpRequest) -> HttpResponse:
    """Create the first (admin) account. Only exists while there is no account at all."""
    if not no_users_yet():
        raise Http404("An account already exists.")
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if not no_users_yet():
                raise Http404("An account already exists.")
            user = form.save()
            assign_role(user, ADMIN)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Connect your Paperless server to get started.")
        return redirect("connection")
    return render(request, "first_run.html", {"form": form})


@access(READ)
@require_http_methods(["GET"])
def dashboard(request: HttpRequest) -> HttpResponse:
    from documents.connection import connection_settings
    from documents.views import sync_status_context
    from duplicates.stats import cached_dashboard_stats
    from webhooks.stats import cached_webhook_stats

    Job.objects.mark_stale()
    context = {
        "sync": sync_status_context(),
        "connection": connection_settings(),
        "active_jobs": Job.objects.active().select_related("created_by")[:10],
        "recent_jobs": Job.objects.select_related("created_by")[:5],
        "stats": cached_dashboard_stats(),
        "webhooks": cached_webhook_stats(),
    }
    return render(request, "dashboard.html", context)


@access(SETTINGS)
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    config = Configuration.objects.get_solo()
    before = scoring_fingerprint(config)
    form = ConfigurationForm(request.POST or None, instance=config)
    if request.method == "POST":
        if form.is_valid():
            form.instance.updated_by = request.user
            saved = form.save()
            messages.success(request, "Settings saved.")
            if queue_rescore_if_changed(before=before, config=saved, user=request.user):
                messages.info(request, "Scoring changed: the stored pairs are being re-scored.")
            if not request.htmx:
                return redirect("settings")
            # With HTMX the form answers in place, the confirmation inside it.
            form = ConfigurationForm(instance=saved)
        else:
            messages.error(request, "Nothing was saved: correct the fields marked below.")
    template = "settings.html#settings-form" if request.htmx else "settings.html"
    context = {
        "form": form,
        "openai_hint": config.secret_hint("openai_api_key"),
        "dry_run_tag_name": config.dry_run_tag_name,
    }
    # Without JavaScript an invalid form is a 422 page; with HTMX the form answers in place with
    # its field errors as a normal answer (a 4xx would also be logged as an error in the console).
    status = 422 if form.errors and not request.htmx else 200
    return render(request, template, context, status=status)


@access(SETTINGS)
@require_http_methods(["POST"])
def dry_run_tag(request: HttpRequest) -> HttpResponse:
    """Create (or find) the named tag in Paperless and make it the dry-run tag."""
    from documents.connection import ConnectionNotConfigured
    from documents.paperless import PaperlessError
    from documents.tags import ensure_dry_run_tag

    name = request.POST.get("name", "").strip()
    if not name or len(name) > 128:
        messages.error(request, "Give the tag a name of 1 to 128 characters.")
        return redirect("settings")
    try:
        tag = ensure_dry_run_tag(name=name, user=request.user)
    except (PaperlessError, ConnectionNotConfigured) as exc:
        messages.error(request, f"The tag could not be set up in Paperless: {exc}")
    else:
        messages.success(request, f"Dry runs will tag documents with '{tag.name}'.")
    return redirect("settings")


@access(SETTINGS)
@require_http_methods(["POST"])
def settings_reset(request: HttpRequest) -> HttpResponse:
    config = Configuration.objects.get_solo()
    before = scoring_fingerprint(config)
    config.reset(user=request.user)
    queue_rescore_if_changed(before=before, config=config, user=request.user)
    messages.success(request, "All settings are back to their defaults.")
    return redirect("settings")


@access(CONNECTION)
@require_http_methods(["GET", "POST"])
def connection_page(request: HttpRequest) -> HttpResponse:
    from documents.connection import check_connection, connection_settings

    current = connection_settings()
    config = Configuration.objects.get_solo()
    form = ConnectionForm(request.POST or None, initial={"url": current.url})
    result = None
    if request.method == "POST" and form.is_valid():
        url = form.cleaned_data["url"]
        entered = form.cleaned_data["token"]
        # The stored token is only sent to the URL it was saved with: another URL needs its own.
        same_url = current.token and normalise_url(url) == normalise_url(current.url)
        token = entered or (current.token if same_url else "")
        if not token:
            form.add_error(
                "token",
                "Enter the API token from your Paperless profile."
                if not current.token
                else "Enter the API token for this URL: the stored one is only ever sent to "
                f"{current.url}.",
            )
        else:
            result = check_connection(url=url, token=token)
            if "save" in request.POST:
                if result.ok:
                    changes = {"paperless_url": url}
                    if entered:
                        changes["paperless_token"] = entered
                    config.apply(changes, user=request.user)
                    messages.success(request, "Connection saved.")
                    return redirect("connection")
                messages.error(request, "Not saved: the connection test failed.")
    context = {
        "form": form,
        "current": current,
        "result": result,
        "token_hint": config.secret_hint("paperless_token"),
        "config": config,
    }
    template = "connection.html#connection-result" if request.htmx else "connection.html"
    return render(request, template, context)


@access(API_TOKENS)
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """Admins issue tokens for any account (a script gets the role of the account it acts as)
    and see and revoke every token."""
    form = ApiTokenForm(request.POST or None, initial={"user": request.user.pk})
    new_token = None
    if request.method == "POST" and form.is_valid():
        _, new_token = ApiToken.issue(
            user=form.cleaned_data["user"], name=form.cleaned_data["name"]
        )
        form = ApiTokenForm(initial={"user": request.user.pk})
    tokens = ApiToken.objects.select_related("user")
    return render(
        request, "api_tokens.html", {"form": form, "tokens": tokens, "new_token": new_token}
    )


@access(API_TOKENS)
@require_http_methods(["POST"])
def api_token_delete(request: HttpRequest, token_id: int) -> HttpResponse:
    ApiToken.objects.filter(pk=token_id).delete()
    messages.success(request, "Token revoked.")
    return redirect("api-tokens")


def _client_ip_allowed(request: HttpRequest) -> bool:
    """The client (not a forwarded header, unless from a trusted proxy) is on the allow-list."""
    from dedupe_project.network import client_ip, in_networks, parse_networks

    return in_networks(client_ip(request), parse_networks(tuple(settings.METRICS_ALLOWED_IPS)))


@access(PUBLIC)
@require_http_methods(["GET"])
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for a scraper holding the metrics token or on the allow-list."""
    token = settings.METRICS_TOKEN
    auth = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(auth.encode(), f"Bearer {token}".encode()):
        return ExportToDjangoView(request)
    if _client_ip_allowed(request):
        return ExportToDjangoView(request)
    return HttpResponseForbidden(
        "Metrics need the metrics token (Authorization: Bearer ...) or an allowed address.",
        content_type="text/plain",
    )
