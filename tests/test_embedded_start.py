"""The README's first command, as a new user runs it: it serves the login page with no service."""

from __future__ import annotations

import os
import subprocess

import httpx

from tests.fixtures import ROOT, free_port, stop_process, wait_for_http


def test_dev_run_serves_the_login_page_in_the_embedded_default(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        # As a new user's shell: none of our settings, and the real settings module.
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
        and not k.startswith("DEDUPE_")
    }
    env.update(PORT=str(port), DEDUPE_DATA_DIR=str(tmp_path))
    log = tmp_path / "run.log"
    process = subprocess.Popen(
        [str(ROOT / "dev"), "run"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health/live", timeout=120, process=process)
        page = httpx.get(f"http://127.0.0.1:{port}/accounts/login/")
        assert page.status_code == 200
        assert 'name="password"' in page.text
        assert "create the first one" in page.text  # a fresh install points to first-run
        root = httpx.get(f"http://127.0.0.1:{port}/")
        assert root.status_code == 302 and "/accounts/login/" in root.headers["location"]
    finally:
        stop_process(process)
    output = log.read_text()
    assert f"http://127.0.0.1:{port}/" in output
    assert "embedded mode" in output
    assert (tmp_path / "dedupe.sqlite3").exists()
