"""Create (or update the password of) the admin account named by DEDUPE_ADMIN_USERNAME and
DEDUPE_ADMIN_PASSWORD (or DEDUPE_ADMIN_PASSWORD_FILE). Does nothing when they are not set."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dedupe_project.access import ADMIN, assign_role


class Command(BaseCommand):
    help = "Create the admin account from DEDUPE_ADMIN_USERNAME / DEDUPE_ADMIN_PASSWORD."

    def handle(self, *args, **options) -> None:
        username, password = settings.ADMIN_USERNAME, settings.ADMIN_PASSWORD
        if not username:
            return
        if not password:
            raise CommandError(
                "DEDUPE_ADMIN_USERNAME is set but DEDUPE_ADMIN_PASSWORD(_FILE) is not."
            )
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": settings.ADMIN_EMAIL}
        )
        user.is_staff = user.is_superuser = True
        if created or not user.check_password(password):
            user.set_password(password)
        user.save()
        assign_role(user, ADMIN)
        self.stdout.write(f"Admin account '{username}' {'created' if created else 'up to date'}.")
