from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dedupe_project import health, views
from dedupe_project.access import SIGNED_IN, access, mark_api_urls
from dedupe_project.api import api

# Every route states who may use it (dedupe_project/access.py); a route without a decision is
# refused, and dedupe_project/tests/test_roles.py names it.

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("setup/", views.first_run, name="first-run"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/reset/", views.settings_reset, name="settings-reset"),
    path("settings/dry-run-tag/", views.dry_run_tag, name="dry-run-tag"),
    path("settings/connection/", views.connection_page, name="connection"),
    path("settings/api-tokens/", views.api_tokens, name="api-tokens"),
    path(
        "settings/api-tokens/<int:token_id>/delete/",
        views.api_token_delete,
        name="api-token-delete",
    ),
    path("jobs/", include("processing.urls")),
    path("documents/", include("documents.urls")),
    path("duplicates/", include("duplicates.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("ai/", include("ai_review.urls")),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", access(SIGNED_IN)(auth_views.LogoutView.as_view()), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", mark_api_urls(api.urls)),
    path("health/live", health.liveness, name="health-live"),
    path("health/ready", health.readiness, name="health-ready"),
    path("metrics", views.metrics, name="metrics"),
]
