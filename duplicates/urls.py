from django.urls import path

from duplicates import action_views, views

urlpatterns = [
    path("", views.group_list, name="group-list"),
    path("export/", views.group_export, name="group-export"),
    path("analyse/", views.analysis_start, name="analysis-start"),
    # Actions: plans, their confirmation, history, the audit log.
    path("plans/", action_views.plan_list, name="plan-list"),
    path("plans/new/", action_views.plan_create, name="plan-create"),
    path("plans/<int:plan_id>/", action_views.plan_detail, name="plan-detail"),
    path("plans/<int:plan_id>/confirm/", action_views.plan_confirm, name="plan-confirm"),
    path("plans/<int:plan_id>/undo/", action_views.plan_undo, name="plan-undo"),
    path("audit/", action_views.audit, name="audit"),
]
