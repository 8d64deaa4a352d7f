from django.urls import path

from webhooks import views

urlpatterns = [
    path("paperless/<slug:event>/", views.receive, name="webhook-receive"),
    path("", views.setup_page, name="webhook-setup"),
    path("apply/", views.setup_apply, name="webhook-setup-apply"),
    path("remove/", views.setup_remove, name="webhook-setup-remove"),
    path("secret/", views.setup_secret, name="webhook-setup-secret"),
    path("test/", views.setup_test, name="webhook-setup-test"),
    path("test/status/", views.setup_test_status, name="webhook-setup-test-status"),
    path("events/", views.events_page, name="webhook-events"),
    path("events/retry-failed/", views.events_retry_failed, name="webhook-events-retry-failed"),
    path("events/<int:event_id>/retry/", views.event_retry, name="webhook-event-retry"),
]
