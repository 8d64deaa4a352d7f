"""Every route, for every role: the table of who may use what, checked over HTTP.

The table is built from the routes themselves (every URL pattern, every OpenAPI operation) and
each one's access rule (``@access(...)``, see ``dedupe_project/access.py``). A route without a
rule fails :func:`test_every_route_has_an_access_decision` with its name; then each rule is
checked by requests as each role: anonymous visitors go to the login page (401 in the API),
roles without the permission get 403, roles with it get through. Viewers are read-only: no
route that changes anything may be open to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from dedupe_project.access import (
    API_OPERATION,
    PUBLIC,
    READ,
    ROLES,
    SIGNED_IN,
    Rule,
    rule_for,
)
from dedupe_project.api import api
from dedupe_project.middleware import DENIED_HEADER
from dedupe_project.models import ApiToken

pytestmark = pytest.mark.django_db

ROLE_NAMES = ("anonymous", "no role", "viewer", "reviewer", "admin")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
HOW_TO_DECIDE = (
    "Give it a rule: @access(READ / REVIEW / PLAN / ...) on the view or under the API "
    "router's decorator (dedupe_project/access.py, README 'Roles')."
)


@dataclass(frozen=True)
class Route:
    name: str
    url: str
    rule: Rule | None
    callback: Any

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


def _dummy(converter: Any, regex: str = "") -> str:
    alternatives = re.match(r"^\(?\??(?:P<\w+>)?([\w-]+)\|", regex)
    if alternatives:
        return alternatives.group(1)
    kind = type(converter).__name__ if converter is not None else ""
    return "1" if kind == "IntConverter" or r"\d" in regex else "x"


def _patterns(resolvers: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple]:
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            inner = (
                f"{namespace}:{entry.namespace}"
                if entry.namespace and namespace
                else (entry.namespace or namespace)
            )
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield entry, namespace, prefix + str(entry.pattern)


def web_routes() -> list[Route]:
    """Every URL pattern but the API's operations (those are checked per operation)."""
    routes = []
    for pattern, namespace, text in _patterns(get_resolver().url_patterns):
        rule = rule_for(pattern.callback, url_name=pattern.name or "", namespace=namespace)
        if rule is API_OPERATION:
            continue
        name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or text)
        kwargs = {}
        converters = getattr(pattern.pattern, "converters", {})
        for key in re.findall(r"<(?:\w+:)?(\w+)>", text):
            kwargs[key] = _dummy(converters.get(key))
        for key, regex in re.findall(r"\(\?P<(\w+)>([^)]*)\)", text):
            kwargs[key] = _dummy(None, regex + "|")
        try:
            url = reverse(name, kwargs=kwargs) if pattern.name else "/" + text
        except Exception:  # a pattern reverse() cannot build: shown by the decision test
            url = "/" + text
        routes.append(Route(name=name, url=url, rule=rule, callback=pattern.callback))
    return routes


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    url: str
    rule: Rule | None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def api_operations() -> list[Operation]:
    """Every operation of the OpenAPI schema, with the rule of the function behind it."""
    rules: dict[tuple[str, str], Rule | None] = {}
    for router in api._get_bound_routers():
        for path, path_view in router.path_operations.items():
            full = re.sub(r"\{(?:\w+:)?(\w+)\}", r"{\1}", f"/api{router.prefix}{path}")
            full = re.sub(r"/+", "/", full)
            for operation in path_view.operations:
                for method in operation.methods:
                    rules[(method, full.rstrip("/") or "/")] = getattr(
                        operation.view_func, "access_rule", None
                    )
    operations = []
    for path, methods in api.get_openapi_schema()["paths"].items():
        for method in methods:
            key = (method.upper(), path.rstrip("/"))
            operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    url=re.sub(r"\{[^}]+\}", "1", path),
                    rule=rules.get(key),
                )
            )
    return operations


WEB_ROUTES = web_routes()
API_OPERATIONS = api_operations()


def test_every_route_has_an_access_decision():
    undecided = [str(route) for route in WEB_ROUTES if route.rule is None]
    undecided += [f"API {op}" for op in API_OPERATIONS if op.rule is None]
    assert not undecided, f"Routes without an access decision: {undecided}. {HOW_TO_DECIDE}"
    # the table really covers the app: pages, the admin site and the API
    names = {route.name for route in WEB_ROUTES}
    assert {"dashboard", "group-detail", "plan-confirm", "admin:index", "metrics"} <= names
    assert len(API_OPERATIONS) >= 30


def test_viewers_can_change_nothing():
    """Read-only means it: no route that takes a write is open to the viewer role, except the
    public ones (log in, first run, webhooks with their secret) and logging out."""
    viewer = set(ROLES["viewer"])
    open_writes = [
        f"API {op}" for op in API_OPERATIONS if op.method in WRITE_METHODS and op.rule in viewer
    ]
    assert not open_writes, f"write operations open to viewers: {open_writes}"
    assert ROLES["viewer"] == (READ,)


@pytest.fixture(autouse=True)
def _no_dependency_checks(monkeypatch):
    """The readiness checks themselves are tested in test_health.py; here only who gets in."""

    async def all_ok() -> dict[str, str]:
        return {"database": "ok"}

    monkeypatch.setattr("dedupe_project.health.gather_readiness", all_ok)


@pytest.fixture
def as_role(client, make_user, admin_user):
    users = {
        "no role": make_user("norole", role=None),
        "viewer": make_user("viewer", role="viewer"),
        "reviewer": make_user("reviewer", role="reviewer"),
        "admin": admin_user,
    }

    def login(role: str):
        client.logout()
        if role != "anonymous":
            client.force_login(users[role])
        return client

    return login


def _allowed(rule: Rule, role: str) -> bool:
    if not rule.login:
        return True
    if role == "anonymous":
        return False
    if rule is SIGNED_IN:
        return True
    return role == "admin" or rule in ROLES.get(role, ())


def _denied_as_expected(response: Any, role: str) -> bool:
    if role == "anonymous":
        return response.status_code == 302 and "/login/" in response["Location"]
    return response.status_code == 403 and response.has_header(DENIED_HEADER)


def _went_through(response: Any) -> bool:
    """Past the access check (a view may still answer 403 for reasons of its own, like the
    admin's autocomplete without its parameters, but not with our header)."""
    login_redirect = response.status_code == 302 and "/login/" in response.get("Location", "")
    return not response.has_header(DENIED_HEADER) and not login_redirect


@pytest.mark.parametrize("route", WEB_ROUTES, ids=str)
def test_page_route_follows_its_rule_for_every_role(as_role, route):
    assert route.rule is not None, f"{route} has no access decision. {HOW_TO_DECIDE}"
    table = {}
    for role in ROLE_NAMES:
        client = as_role(role)
        allowed = _allowed(route.rule, role)
        # The check runs before the view and whatever its method: GET is enough to see it.
        response = client.get(route.url)
        ok = _went_through(response) if allowed else _denied_as_expected(response, role)
        table[role] = (allowed, response.status_code, ok)
    wrong = {key: value for key, value in table.items() if not value[2]}
    assert not wrong, f"{route} ({route.rule.name}): (allowed, status, ok) {wrong}"


@pytest.mark.parametrize("operation", API_OPERATIONS, ids=str)
def test_api_operation_follows_its_rule_for_every_role(as_role, operation):
    assert operation.rule is not None, f"API {operation} has no access decision. {HOW_TO_DECIDE}"
    table = {}
    for role in ROLE_NAMES:
        client = as_role(role)
        response = client.generic(
            operation.method, operation.url, data="{}", content_type="application/json"
        )
        allowed = _allowed(operation.rule, role)
        if allowed:
            ok = response.status_code not in (401, 403)
        elif role == "anonymous":
            ok = response.status_code == 401 and response.json()["code"] == "unauthenticated"
        else:
            ok = response.status_code == 403 and response.json()["code"] == "forbidden"
        table[role] = (allowed, response.status_code, ok)
    wrong = {key: value for key, value in table.items() if not value[2]}
    assert not wrong, f"API {operation} ({operation.rule.name}): (allowed, status, ok) {wrong}"


def test_api_token_carries_its_accounts_role(client, make_user):
    viewer = make_user("script-viewer", role="viewer")
    reviewer = make_user("script-reviewer", role="reviewer")
    _, viewer_token = ApiToken.issue(user=viewer, name="read")
    _, reviewer_token = ApiToken.issue(user=reviewer, name="act")

    def call(method: str, url: str, token: str) -> Any:
        return client.generic(
            method,
            url,
            data="{}",
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )

    assert call("GET", "/api/groups", viewer_token).status_code == 200
    refused = call("POST", "/api/plans", viewer_token)
    assert refused.status_code == 403
    assert "viewer" in refused.json()["detail"]
    # the reviewer gets past the role check to the body validation
    assert call("POST", "/api/plans", reviewer_token).status_code == 422
    assert call("PATCH", "/api/config", reviewer_token).status_code == 403


def test_undecided_route_is_refused_to_everyone(rf, admin_user):
    """Fail closed: a view nobody decided about is refused even to an admin."""
    from dedupe_project.middleware import AccessMiddleware

    def undecided_view(request):  # pragma: no cover - never reached
        raise AssertionError("the view ran")

    request = rf.get("/somewhere/")
    request.user = admin_user
    request.htmx = False
    request.resolver_match = None
    response = AccessMiddleware(lambda r: None).process_view(request, undecided_view, (), {})
    assert response is not None and response.status_code == 403
    assert b"no access rule" in response.content


def test_public_routes_are_only_the_expected_ones():
    public = sorted(route.name for route in WEB_ROUTES if route.rule is PUBLIC)
    assert public == sorted(
        [
            "first-run",
            "login",
            "admin:login",
            "health-live",
            "health-ready",
            "metrics",
            "webhook-receive",  # Paperless's deliveries: their own secret, not a login
        ]
    )


def test_api_schema_is_read_with_a_token_too(client, make_user):
    _, raw = ApiToken.issue(user=make_user("schema-reader", role="viewer"), name="codegen")
    answer = client.get("/api/openapi.json", headers={"Authorization": f"Bearer {raw}"})
    assert answer.status_code == 200 and "paths" in answer.json()
    assert client.get("/api/openapi.json").status_code == 302  # anonymous: log in first
    wrong = client.get("/api/openapi.json", headers={"Authorization": "Bearer pdd_nope"})
    assert wrong.status_code == 302
