"""Shared fixtures. The suite runs against whatever the environment names: PostgreSQL and Redis
when DATABASE_URL and REDIS_URL are set (CI's first pass), the embedded default otherwise."""

from __future__ import annotations

import os
import tempfile

# Before Django reads its settings: the test environment, and a data directory of our own.
os.environ.setdefault("DEDUPE_ENVIRONMENT", "test")
os.environ.setdefault("DEDUPE_DATA_DIR", tempfile.mkdtemp(prefix="dedupe-test-"))

pytest_plugins = ["tests.fake_paperless.fixtures", "tests.fixtures"]
