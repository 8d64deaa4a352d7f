"""Production mode refuses weak or missing secret keys, and passes check --deploy when set up."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DEDUPE_", "DATABASE_", "DJANGO_SETTINGS_MODULE"))
    }
    clean.update(
        DEDUPE_ENVIRONMENT="production",
        DEDUPE_DATA_DIR=str(tmp_path),
        DEDUPE_ALLOWED_HOSTS="dedupe.example.lan",
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key(tmp_path):
    result = _run(["check"], tmp_path)
    assert result.returncode != 0
    assert "DEDUPE_SECRET_KEY is not set" in result.stderr
    assert "secrets.token_urlsafe" in result.stderr


@pytest.mark.parametrize(
    "key", ["django-insecure-" + "a" * 50, "change-me", "x" * 60, "short-but-random-Q9"]
)
def test_production_refuses_default_or_weak_secret_key(tmp_path, key):
    result = _run(["check"], tmp_path, DEDUPE_SECRET_KEY=key)
    assert result.returncode != 0
    assert "weak key" in result.stderr


def test_production_reads_secret_key_from_file_and_passes_check_deploy(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_urlsafe(50))
    result = _run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        tmp_path,
        DEDUPE_SECRET_KEY_FILE=str(key_file),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_the_embedded_mode_serves_from_one_process_only(settings):
    """Its worker, scheduler and in-memory queues live in the web process."""
    from django.core.management import CommandError, call_command

    from dedupe_project.management.commands.serve import default_processes

    settings.EMBEDDED_WORKER = True
    assert default_processes() == 1
    with pytest.raises(CommandError, match="one process only"):
        call_command("serve", "--processes", "2", "--port", "1")


def test_the_services_mode_serves_from_a_process_per_core(settings, monkeypatch):
    from dedupe_project.management.commands.serve import default_processes

    settings.EMBEDDED_WORKER = False
    monkeypatch.delenv("DEDUPE_WEB_PROCESSES", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert default_processes() == 4
    monkeypatch.setenv("DEDUPE_WEB_PROCESSES", "2")
    assert default_processes() == 2
