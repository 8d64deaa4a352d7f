from django.urls import path

from duplicates import views

urlpatterns = [
    path("", views.group_list, name="group-list"),
    path("export/", views.group_export, name="group-export"),
    path("analyse/", views.analysis_start, name="analysis-start"),
]
