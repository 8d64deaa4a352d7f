"""The whole JSON API fuzzed in process: schemathesis generates requests for every operation of
the OpenAPI schema, schema-valid ones and ones that break it, and sends them through Django (WSGI,
the whole middleware stack) with an API token, against a small library and the fake Paperless.

What must hold, for every answer: no server error; the status code, content type and body are the
ones the schema documents; a request that breaks the schema is refused with a 4xx; and a request
that keeps it is refused only by a rule the schema cannot state (a lower bound above the upper
one, a tag Paperless does not have): a 422 with a code of its own, never ``validation_error``,
which says "this request does not match the schema" and so would make the schema a lie.

Bounded: ``DEDUPE_FUZZ_EXAMPLES`` examples per operation (default 15), derandomised so CI sees the
same cases every run; set ``DEDUPE_FUZZ_RANDOM=1`` to explore new ones.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dedupe_project.api import api
from dedupe_project.models import ApiToken
from duplicates.tests.groupfactory import factors, make_group
from processing.models import Job

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/"))
schema.app = get_wsgi_application()

EXAMPLES = int(os.environ.get("DEDUPE_FUZZ_EXAMPLES", "15"))
ACCEPTED_FOR_VALID_REQUESTS = {401, 403, 404, 409, 429}

pytestmark = pytest.mark.django_db


def refused_only_by_rules_beyond_the_schema(ctx, response, case) -> bool | None:
    """schemathesis's ``positive_data_acceptance``, except that a 422 naming a rule of its own
    (``invalid_filters``, ``invalid_settings``, ``empty_selection``, ...) is an honest answer to
    a request the schema cannot refuse in advance."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status < 400 or status in ACCEPTED_FOR_VALID_REQUESTS:
        return None
    if status == 422 and response.json().get("code") != "validation_error":
        return None
    raise AssertionError(
        f"A request that keeps the schema was refused: {status} {response.text[:500]}"
    )


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Generated URLs (the connection test) must reach nothing but this machine: no name is
    looked up and no address off loopback is connected to."""
    resolve = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        try:
            allowed = ipaddress.ip_address(name.strip("[]").split("%")[0]).is_loopback
        except ValueError:
            allowed = name == "localhost"
        if not allowed:
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: not looked up in the fuzz test")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


@pytest.fixture
def token(admin_user, paperless):
    """An API token, a few groups and jobs to find, and the fake Paperless as the connection
    (its tags, so a dry-run tag can be set). Django's request signals would close the test's
    database connection between requests; the test client turns them off the same way."""
    paperless.seed(documents=3)
    for fuzzy in (0.97, 0.9, 0.8):
        make_group(pair_factors=[factors(fuzzy=fuzzy)])
    Job.objects.create(kind=Job.Kind.SYNC, status=Job.Status.FAILED, error="for the fuzzer")
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield ApiToken.issue(user=admin_user, name="fuzz")[1]
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("DEDUPE_FUZZ_RANDOM"),
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.target],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[positive_data_acceptance],
        additional_checks=[refused_only_by_rules_beyond_the_schema],
    )
