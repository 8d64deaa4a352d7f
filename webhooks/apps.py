from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from duplicates.analysis import analysis_finished
        from webhooks import handling

        # registers the "webhook" job kind; marks deliveries analysed after each analysis
        analysis_finished.connect(handling.mark_analysed, dispatch_uid="webhooks.mark_analysed")
