"""A fake Paperless-NGX server for tests and for trying the app by hand.

    with FakePaperless(token="abc") as fake:
        fake.seed(documents=500)
        ...  # talk to fake.url with "Authorization: Token abc"

In pytest use the ``fake_paperless`` fixture (``tests/fake_paperless/fixtures.py``).
"""

from tests.fake_paperless.server import FakePaperless, RecordedRequest
from tests.fake_paperless.state import DuplicatePair, FakeDocument, FakeState, SeedResult

__all__ = [
    "DuplicatePair",
    "FakeDocument",
    "FakePaperless",
    "FakeState",
    "RecordedRequest",
    "SeedResult",
]
