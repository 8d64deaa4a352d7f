"""Shared fixtures. The suite runs against whatever the environment names: PostgreSQL and Redis
when DATABASE_URL and REDIS_URL are set (CI's first pass), the embedded default otherwise. Test
defaults for the settings are in tests/settings.py."""

pytest_plugins = [
    "tests.fake_paperless.fixtures",
    "tests.fake_openai.fixtures",
    "tests.ai_review_fixtures",
    "tests.fixtures",
]
