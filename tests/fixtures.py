"""Fixtures for the whole suite: users, logged-in clients, and the real app in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(
    url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited early with code {process.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError as exc:
            last_error = exc
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last_error}")


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture(autouse=True)
def _fresh_dashboard_figures():
    """The dashboard's figures are cached across requests; each test starts without them."""
    from duplicates.stats import forget_dashboard_stats

    forget_dashboard_stats()
    yield


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(
        username="admin", email="admin@example.com", password=PASSWORD
    )


@pytest.fixture
def auth_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def make_user(django_user_model) -> Callable[..., object]:
    """An account with a role ("admin", "reviewer", "viewer") or none (``role=None``)."""
    from dedupe_project.access import assign_role

    def make(username: str, *, role: str | None) -> object:
        user = django_user_model.objects.create_user(username=username, password=PASSWORD)
        if role is not None:
            assign_role(user, role)
        return user

    return make


@pytest.fixture
def viewer_user(make_user):
    return make_user("viewer", role="viewer")


@pytest.fixture
def reviewer_user(make_user):
    return make_user("reviewer", role="reviewer")


@pytest.fixture
def viewer_client(client, viewer_user):
    client.force_login(viewer_user)
    return client


@pytest.fixture
def reviewer_client(client, reviewer_user):
    client.force_login(reviewer_user)
    return client


def database_url_for_subprocess() -> str:
    """The URL of the database pytest-django created, for processes started by a test."""
    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{conf['NAME']}"
    user = conf.get("USER") or ""
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = conf.get("HOST") or "127.0.0.1"
    return f"postgres://{auth}{host}:{conf.get('PORT') or 5432}/{conf['NAME']}"


def kill_when(
    args: list[str],
    *,
    ready: Callable[[], bool],
    data_dir: Path,
    env: dict[str, str] | None = None,
    settle: float = 0.0,
    timeout: float = 60,
    poll: float = 0.05,
) -> None:
    """Run ``manage.py *args`` in its own process group on the test's database (``env`` added
    to the environment), wait until ``ready()``, give it ``settle`` more seconds, then SIGKILL
    the whole group, as a crash or a power cut would; asserts it died of the kill. The output
    goes to ``data_dir/manage.log`` and is shown when the process ends early or never gets
    ready."""
    log = data_dir / "manage.log"
    process = _spawn(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={
            **os.environ,
            "DEDUPE_ENVIRONMENT": "development",
            "DEDUPE_DATA_DIR": str(data_dir),
            "DEDUPE_SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": database_url_for_subprocess(),
            **(env or {}),
        },
        log=log,
    )
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(poll)
        time.sleep(settle)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL


@dataclass
class LiveApp:
    url: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def login(self, *, username: str = "admin", password: str = PASSWORD) -> httpx.Client:
        """An HTTP client logged in through the real login form (session and CSRF cookies)."""
        client = httpx.Client(base_url=self.url, timeout=10, follow_redirects=False)
        client.get("/accounts/login/")
        response = client.post(
            "/accounts/login/",
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
            headers={"Referer": self.url + "/accounts/login/"},
        )
        assert response.status_code == 302, response.text[:500]
        return client

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in self.logs if p.exists())


def _spawn(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.fixture
def live_app(transactional_db, tmp_path, request) -> Iterator[LiveApp]:
    """The real app served by daphne in a subprocess, on the test database.

    Embedded default: the worker runs inside that process on the in-memory broker. With Redis:
    a separate ``rundramatiq`` worker process, as in production. A test marked
    ``@pytest.mark.live_app_env(NAME="value")`` adds to the app's environment.
    """
    marker = request.node.get_closest_marker("live_app_env")
    extra_env = dict(marker.kwargs) if marker else {}
    port = free_port()
    env = {
        **os.environ,
        # The test environment (its fast password hasher matches the users the tests create),
        # with the worker where the mode puts it: inside this process without Redis.
        "DEDUPE_ENVIRONMENT": "test",
        "DEDUPE_EMBEDDED_WORKER": "0" if settings.REDIS_URL else "1",
        "DEDUPE_DATA_DIR": str(tmp_path),
        "DEDUPE_SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url_for_subprocess(),
        "DEDUPE_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    app = LiveApp(url=f"http://127.0.0.1:{port}")
    manage = [sys.executable, str(ROOT / "manage.py")]
    web_log = tmp_path / "web.log"
    app.logs.append(web_log)
    app.processes.append(_spawn([*manage, "serve", "--port", str(port)], env=env, log=web_log))
    if settings.REDIS_URL:
        worker_log = tmp_path / "worker.log"
        app.logs.append(worker_log)
        app.processes.append(
            _spawn(
                [*manage, "rundramatiq", "--processes", "1", "--threads", "2"],
                env=env,
                log=worker_log,
            )
        )
    try:
        wait_for_http(app.url + "/health/live", process=app.processes[0])
        yield app
    except Exception:
        print(app.output())
        raise
    finally:
        for process in app.processes:
            stop_process(process)
