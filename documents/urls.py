from django.urls import path

from documents import views

urlpatterns = [
    path("", views.document_list, name="document-list"),
    path("sync/", views.sync_now, name="sync-now"),
    path("sync/status/", views.sync_status, name="sync-status"),
    path("<int:paperless_id>/", views.document_detail, name="document-detail"),
    path("<int:paperless_id>/thumbnail/", views.document_thumbnail, name="document-thumbnail"),
    path("<int:paperless_id>/preview/", views.document_preview, name="document-preview"),
    path("<int:paperless_id>/pages/<int:page>/", views.document_page, name="document-page"),
]
