from django.urls import path

from ai_review import views

urlpatterns = [
    path("", views.home, name="ai-home"),
    path("runs/new/", views.run_create, name="ai-run-create"),
    path("runs/<int:run_id>/", views.run_detail, name="ai-run-detail"),
    path("runs/<int:run_id>/start/", views.run_start, name="ai-run-start"),
    path("review/", views.review_page, name="ai-review"),
    path("review/accept-above/", views.accept_above, name="ai-accept-above"),
    path("fields/<int:field_id>/", views.field_decide, name="ai-field-decide"),
    path("suggestions/<int:suggestion_id>/", views.suggestion_decide, name="ai-suggestion-decide"),
    path("apply/", views.apply_create, name="ai-apply-create"),
    path("plans/<int:plan_id>/", views.plan_detail, name="ai-plan-detail"),
    path("plans/<int:plan_id>/confirm/", views.plan_confirm, name="ai-plan-confirm"),
    path("audit/<int:entry_id>/revert/", views.revert, name="ai-revert"),
    path("settings/", views.ai_settings_page, name="ai-settings"),
    path("settings/test/", views.ai_settings_test, name="ai-settings-test"),
]
