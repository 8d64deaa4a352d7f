from django.apps import AppConfig


class AiReviewConfig(AppConfig):
    name = "ai_review"
    verbose_name = "AI review"
