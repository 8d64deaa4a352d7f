from django.core.management.base import BaseCommand

from processing.scheduler import run_forever


class Command(BaseCommand):
    help = "Run the scheduler: periodic sync as configured, and noticing jobs whose worker died."

    def handle(self, *args, **options) -> None:
        run_forever()
