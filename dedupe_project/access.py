"""Who may use which route: one access rule per view and per API operation, and the three roles.

Every route states its rule next to its code, with one decorator::

    @access(REVIEW)
    @require_http_methods(["POST"])
    def set_primary(request, group_id): ...

    @router.post("/{plan_id}/confirm", ...)
    @access(CONFIRM)
    def confirm(request, plan_id, payload): ...

(on an API operation the decorator goes *under* the router's, like any view decorator in
django-ninja). A route without a rule is refused to everyone (fail closed), and
``dedupe_project/tests/test_roles.py`` fails naming it, so a new route cannot ship without a
decision. Third-party views that cannot be decorated where they are defined (Django's login and
admin site) get their rule in :data:`NAME_RULES` / :data:`NAMESPACE_RULES` below.

Enforcement: pages by :class:`dedupe_project.middleware.AccessMiddleware` before the view runs
(anonymous visitors go to the login page, a logged-in account without the permission gets 403);
API operations by the API's authentication (``dedupe_project.api``), right after the session or
token is checked and before the request body is read (401 / 403 in the API's error shape); the
live-progress WebSocket needs :data:`READ`.

Roles are Django groups holding Django permissions (the custom ones of :class:`~dedupe_project.
models.Access`), kept in step with :data:`ROLES` after every ``migrate``
(:func:`sync_role_groups`). A superuser counts as an admin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from ninja.decorators import decorate_view

APP = "dedupe_project"


@dataclass(frozen=True)
class Rule:
    """Who may use a route: anyone (``login=False``), any logged-in account
    (``permission=None``), or accounts holding ``permission`` ("app_label.codename")."""

    name: str
    permission: str | None
    description: str
    login: bool = True

    def allows(self, user: Any) -> bool:
        if not self.login:
            return True
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        return self.permission is None or user.has_perm(self.permission)

    @property
    def codename(self) -> str | None:
        return self.permission.split(".", 1)[1] if self.permission else None


PUBLIC = Rule(
    "public", None, "anyone, without logging in (login, health, a secret of its own)", login=False
)
SIGNED_IN = Rule("signed in", None, "any logged-in account, whatever its role")
READ = Rule("read", f"{APP}.view_library", "Read documents, groups, plans, jobs and the audit log")
REVIEW = Rule(
    "review",
    f"{APP}.review_groups",
    "Decide duplicate groups (status, primary, not duplicates, take out, put back)",
)
PLAN = Rule("plan", f"{APP}.make_plans", "Make plans (what a deletion or tagging would do)")
CONFIRM = Rule("confirm", f"{APP}.confirm_plans", "Confirm plans (delete, tag in Paperless)")
UNDO = Rule("undo", f"{APP}.undo_dry_runs", "Undo dry runs")
RUN_JOBS = Rule(
    "run jobs",
    f"{APP}.run_jobs",
    "Start syncs and analyses; resume, cancel or mark interrupted a job",
)
SETTINGS = Rule("settings", f"{APP}.change_settings", "Change the settings")
CONNECTION = Rule("connection", f"{APP}.manage_connection", "Set and test the Paperless connection")
API_TOKENS = Rule("API tokens", f"{APP}.manage_api_tokens", "Issue and revoke API tokens")
USERS = Rule("users", f"{APP}.manage_users", "Manage accounts and roles (the admin site)")
API_OPERATION = Rule(
    "API operation",
    None,
    "decided per operation by its own @access (enforced in dedupe_project.api)",
)

PERMISSION_RULES = (
    READ,
    REVIEW,
    PLAN,
    CONFIRM,
    UNDO,
    RUN_JOBS,
    SETTINGS,
    CONNECTION,
    API_TOKENS,
    USERS,
)

VIEWER, REVIEWER, ADMIN = "viewer", "reviewer", "admin"
ROLES: dict[str, tuple[Rule, ...]] = {
    VIEWER: (READ,),
    REVIEWER: (READ, REVIEW, PLAN, CONFIRM, UNDO, RUN_JOBS),
    ADMIN: PERMISSION_RULES,
}
"""What each role may do. The admin group also gets every other permission of the project (so
the admin site works for every model) and admins are staff."""
ROLE_DESCRIPTIONS = {
    VIEWER: "Viewer: reads everything, changes nothing",
    REVIEWER: "Reviewer: decides groups, makes and confirms plans, undoes dry runs, runs jobs",
    ADMIN: "Admin: also the connection, settings, accounts and API tokens",
}
ROLE_ORDER = (ADMIN, REVIEWER, VIEWER)

# Views defined elsewhere (Django's), decided here by URL name or namespace.
NAME_RULES: dict[str, Rule] = {
    "admin:login": PUBLIC,
    "admin:logout": SIGNED_IN,
}
NAMESPACE_RULES: dict[str, Rule] = {"admin": USERS}


# --- deciding -------------------------------------------------------------------------------


def _run_with_rule(rule: Rule) -> Callable[[Callable], Callable]:
    """Wraps a django-ninja operation's ``run`` so the API's authentication knows the rule
    (applied with ninja's ``decorate_view``, which keeps it on the operation's clones)."""

    def wrap(run: Callable) -> Callable:
        @wraps(run)
        def run_with_rule(request: Any, *args: Any, **kwargs: Any) -> Any:
            request.access_rule = rule
            return run(request, *args, **kwargs)

        return run_with_rule

    return wrap


def access(rule: Rule) -> Callable[[Callable], Callable]:
    """The access decision of a view or an API operation (see the module docstring)."""
    if not isinstance(rule, Rule):
        raise TypeError(f"access() takes a Rule, not {rule!r}")

    def decide(view: Callable) -> Callable:
        view.access_rule = rule
        if not isinstance(view, type):
            decorate_view(_run_with_rule(rule))(view)  # for an API operation; inert elsewhere
        return view

    return decide


def rule_for(view: Callable | None, *, url_name: str = "", namespace: str = "") -> Rule | None:
    """The rule of a resolved route, or ``None`` when nobody decided (refused)."""
    rule = getattr(view, "access_rule", None)
    if rule is None and view is not None and hasattr(view, "view_class"):
        rule = getattr(view.view_class, "access_rule", None)
    if rule is not None:
        return rule
    full_name = f"{namespace}:{url_name}" if namespace else url_name
    if full_name in NAME_RULES:
        return NAME_RULES[full_name]
    top = namespace.split(":", 1)[0] if namespace else ""
    return NAMESPACE_RULES.get(top)


def mark_api_urls(urls: tuple[list[Any], str, str]) -> tuple[list[Any], str, str]:
    """``api.urls`` with their decisions: every operation path is decided per operation (the
    API checks it), the API's own root (a 404 pointing at the docs) is :data:`READ`."""
    patterns, app_name, namespace = urls
    for pattern in patterns:
        callback = pattern.callback
        if getattr(callback, "access_rule", None) is not None:
            continue
        callback.access_rule = READ if pattern.name == "api-root" else API_OPERATION
    return patterns, app_name, namespace


# --- roles ----------------------------------------------------------------------------------


def role_of(user: Any) -> str | None:
    """The user's role: the highest of their role groups; a superuser is an admin."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = {group.name for group in user.groups.all()}
    for role in ROLE_ORDER:
        if role in names:
            return role
    return None


def role_label(user: Any) -> str:
    return role_of(user) or "no role"


def admins() -> Any:
    """Active accounts with the admin role."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=ADMIN))
    )


def is_last_admin(user: Any) -> bool:
    return role_of(user) == ADMIN and not admins().exclude(pk=user.pk).exists()


def assign_role(user: Any, role: str) -> None:
    """Give ``user`` exactly one role (its group; admins are staff). Demoting an admin also
    takes away superuser status, or the role would mean nothing."""
    from django.contrib.auth.models import Group

    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}: use one of {', '.join(ROLE_ORDER)}.")
    group = Group.objects.filter(name=role).first()
    if group is None:  # only before the first migrate has finished
        sync_role_groups()
        group = Group.objects.get(name=role)
    user.groups.remove(*Group.objects.filter(name__in=list(ROLES)).exclude(pk=group.pk))
    user.groups.add(group)
    user.is_staff = role == ADMIN
    if role != ADMIN:
        user.is_superuser = False
    user.save(update_fields=["is_staff", "is_superuser"])
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


def sync_role_groups(**_: Any) -> None:
    """Create the role groups and give each exactly its permissions (run after ``migrate``, so
    a permission added by a new model or rule is granted at once)."""
    from django.contrib.auth.models import Group, Permission

    codenames = {rule.codename for rule in PERMISSION_RULES}
    ours = {
        p.codename: p
        for p in Permission.objects.filter(content_type__app_label=APP, codename__in=codenames)
    }
    if len(ours) < len(codenames):
        return  # the permissions are created by this same post_migrate round; next call
    for role, rules in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted: Iterable[Any] = [ours[rule.codename] for rule in rules]
        if role == ADMIN:
            wanted = Permission.objects.all()
        group.permissions.set(wanted)
