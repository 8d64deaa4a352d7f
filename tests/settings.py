"""Settings for the test suite: the real settings, with test defaults put in the environment first.

pytest-django imports the settings before any conftest runs, so the defaults must be set here.
Anything already in the environment wins: CI sets DATABASE_URL and REDIS_URL for its services run.
"""

import os
import tempfile
import uuid

os.environ.setdefault("DEDUPE_ENVIRONMENT", "test")
# A data directory (SQLite test database, thumbnails, generated key) of this run only, so runs
# side by side never share a database file.
os.environ.setdefault("DEDUPE_DATA_DIR", tempfile.mkdtemp(prefix="dedupe-test-"))
# Redis keys of this run apart from any other run or install on the same server; processes the
# tests start inherit it, so they share this run's queues and channel layer.
os.environ.setdefault("DEDUPE_REDIS_PREFIX", f"dedupe-test-{uuid.uuid4().hex[:8]}")

from dedupe_project.settings import *  # noqa: F403
