from django.urls import path

from duplicates import action_views, detail_views, relation_views, review_views, views

urlpatterns = [
    path("", views.group_list, name="group-list"),
    path("export/", views.group_export, name="group-export"),
    path("analyse/", views.analysis_start, name="analysis-start"),
    path("part-of/", relation_views.part_of_list, name="part-of-list"),
    path("part-of/not-related/", relation_views.part_of_not_related, name="part-of-not-related"),
    # Review mode: one group at a time, by keyboard; decisions collect into one plan.
    path("review/", review_views.review_start, name="review-start"),
    path("review/done/", review_views.review_done, name="review-done"),
    path("review/undo/", review_views.review_undo, name="review-undo"),
    path("review/finish/", review_views.review_finish, name="review-finish"),
    path("review/<int:group_id>/", review_views.review_group, name="review-group"),
    path("review/<int:group_id>/decide/", review_views.review_decide, name="review-decide"),
    path("<int:group_id>/", detail_views.group_detail, name="group-detail"),
    path("<int:group_id>/primary/", detail_views.set_primary, name="group-set-primary"),
    path("<int:group_id>/remove/", detail_views.remove_member, name="group-remove-member"),
    path("<int:group_id>/put-back/", detail_views.put_back, name="group-put-back"),
    path(
        "<int:group_id>/not-duplicate-pair/",
        detail_views.pair_not_duplicate,
        name="group-pair-not-duplicate",
    ),
    path("<int:group_id>/status/", detail_views.set_status, name="group-set-status"),
    # Actions: plans, their confirmation, history, the audit log.
    path("plans/", action_views.plan_list, name="plan-list"),
    path("plans/new/", action_views.plan_create, name="plan-create"),
    path("plans/<int:plan_id>/", action_views.plan_detail, name="plan-detail"),
    path("plans/<int:plan_id>/confirm/", action_views.plan_confirm, name="plan-confirm"),
    path("plans/<int:plan_id>/undo/", action_views.plan_undo, name="plan-undo"),
    path("audit/", action_views.audit, name="audit"),
]
