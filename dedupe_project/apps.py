from django.apps import AppConfig


class DedupeProjectConfig(AppConfig):
    name = "dedupe_project"
    verbose_name = "Paperless Dedupe"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_migrate

        from dedupe_project import metrics
        from dedupe_project.access import sync_role_groups
        from dedupe_project.logging import register_secret

        metrics.register()
        post_migrate.connect(sync_role_groups, dispatch_uid="dedupe-role-groups")

        # Secrets from the environment are masked in every log line from the start.
        for secret in (
            settings.PAPERLESS_API_TOKEN,
            settings.OPENAI_API_KEY,
            settings.METRICS_TOKEN,
            settings.WEBHOOK_SECRET,
            settings.SECRET_KEY,
        ):
            register_secret(secret)
