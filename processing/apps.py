from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "processing"
    verbose_name = "Processing"

    def ready(self) -> None:
        # Declare the actors on the broker in every process, and register the job kinds.
        from processing import actors, diagnostics  # noqa: F401
