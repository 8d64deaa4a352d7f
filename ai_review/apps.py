from django.apps import AppConfig


class AiReviewConfig(AppConfig):
    name = "ai_review"
    verbose_name = "AI review"

    def ready(self) -> None:
        # Register the job kinds ("ai": suggestions, "ai_apply": apply and revert plans) and the
        # AI figures on /metrics.
        from ai_review import apply, metrics, runs  # noqa: F401

        metrics.register()
