from django.apps import AppConfig


class DuplicatesConfig(AppConfig):
    name = "duplicates"
    verbose_name = "Duplicates"

    def ready(self) -> None:
        from duplicates import analysis  # noqa: F401  (registers the "analysis" job kind)
