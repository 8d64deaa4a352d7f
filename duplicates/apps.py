from django.apps import AppConfig


class DuplicatesConfig(AppConfig):
    name = "duplicates"
    verbose_name = "Duplicates"

    def ready(self) -> None:
        # Each registers its job kind: "analysis", and "action" (plans).
        from duplicates import actions, analysis  # noqa: F401
