"""A fake OpenAI-compatible endpoint for tests and for trying AI review by hand.

    with FakeOpenAI() as fake:
        ...  # base URL fake.url, key fake.key

In pytest use the ``fake_openai`` fixture (``tests/fake_openai/fixtures.py``).
"""

from tests.fake_openai.server import FakeOpenAI, default_answer

__all__ = ["FakeOpenAI", "default_answer"]
