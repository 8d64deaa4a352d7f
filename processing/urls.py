from django.urls import path

from processing import views

urlpatterns = [
    path("", views.history, name="history"),
    path("diagnostics/", views.start_diagnostics, name="start-diagnostics"),
    path("<int:job_id>/", views.job_detail, name="job-detail"),
    path("<int:job_id>/resume/", views.resume_job, name="job-resume"),
    path("<int:job_id>/cancel/", views.cancel_job, name="job-cancel"),
    path("<int:job_id>/interrupt/", views.interrupt_job, name="job-interrupt"),
]
