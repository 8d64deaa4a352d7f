"""Give an account its role (admin, reviewer or viewer), or list the accounts and their roles.

manage.py set_role alice reviewer
manage.py set_role --list
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dedupe_project.access import (
    ADMIN,
    ROLE_DESCRIPTIONS,
    ROLE_ORDER,
    assign_role,
    is_last_admin,
    role_label,
)


class Command(BaseCommand):
    help = "Set an account's role: " + "; ".join(ROLE_DESCRIPTIONS[r] for r in ROLE_ORDER) + "."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", nargs="?")
        parser.add_argument("role", nargs="?", choices=ROLE_ORDER)
        parser.add_argument("--list", action="store_true", help="List every account's role.")

    def handle(self, *args, username: str | None, role: str | None, **options) -> None:
        users = get_user_model().objects.prefetch_related("groups").order_by("username")
        if options["list"]:
            for user in users:
                active = "" if user.is_active else " (inactive)"
                self.stdout.write(f"{user.get_username()}: {role_label(user)}{active}")
            return
        if not username or not role:
            raise CommandError("Give an account name and a role, or --list.")
        user = users.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account is called {username!r}.")
        if role != ADMIN and is_last_admin(user):
            raise CommandError(f"{username} is the last admin: make another account admin first.")
        assign_role(user, role)
        self.stdout.write(f"{username} is now {role}.")
