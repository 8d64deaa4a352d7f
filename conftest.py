"""Shared fixtures. The suite runs against whatever the environment names: PostgreSQL and Redis
when DATABASE_URL and REDIS_URL are set (CI's first pass), the embedded default otherwise."""

from __future__ import annotations

import os
import tempfile
import uuid

# Before Django reads its settings: the test environment, and a data directory of our own.
os.environ.setdefault("DEDUPE_ENVIRONMENT", "test")
os.environ.setdefault("DEDUPE_DATA_DIR", tempfile.mkdtemp(prefix="dedupe-test-"))
# Redis keys of this run apart from any other run or install on the same server.
os.environ.setdefault("DEDUPE_REDIS_PREFIX", f"dedupe-test-{uuid.uuid4().hex[:8]}")

pytest_plugins = ["tests.fake_paperless.fixtures", "tests.fixtures"]
