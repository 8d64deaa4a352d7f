"""``manage.py load_benchmark --users 10``: how the web process answers many people at once, while
a sync runs.

Fills a THROWAWAY database (a temporary SQLite file, or ``--database-url``) with a synthetic
library and its duplicate groups, starts the real app as production runs it (``serve`` with
``--redis-url``: the web process plus a separate worker; without it the embedded default, the
worker inside the web process), a fake Paperless with as many documents (same ids, new texts and
thumbnails, so the sync rewrites every document and fetches every thumbnail, each after 62 ms as
a real Paperless answered in the captures), and starts a full sync. While it runs, ``--users``
logged-in people each load the dashboard and a page of 50 groups in turn, as fast as answers
come, for ``--seconds``; every request goes to the server on loopback. Prints, per page, the
median, 90th percentile and worst answer time, requests per second, errors, and whether the sync
ran throughout. Not a test: it prints figures.

``--compare N`` runs N rounds of each of two set-ups, alternating, each on a freshly filled
library with its own sync: "before" (one web process, the dashboard's figures computed for every
request, the worker at the web's CPU priority) and "after" (this project's defaults), and prints
the medians of the rounds and their ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

PASSWORD = "load-benchmark-password"  # noqa: S105 - a throwaway user in a throwaway database
TOKEN = "load-benchmark-token"  # noqa: S105 - the throwaway fake's token
# "before": how the web process was served before this benchmark's fixes.
SETUPS: dict[str, dict[str, Any]] = {
    "before": {
        "web_processes": 1,
        "extra_env": {"DEDUPE_STATS_CACHE_SECONDS": "0", "DEDUPE_WORKER_NICENESS": "0"},
    },
    "after": {},
}
PAGES = {"dashboard": "/", "50 groups": "/duplicates/?per_page=50"}


def _free_ports(count: int) -> list[int]:
    """Distinct free ports (held together while chosen, so the two cannot be the same)."""
    import socket

    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Command(BaseCommand):
    help = "Answer times of the dashboard and a groups page for N users at once, during a sync."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=10)
        parser.add_argument("--seconds", type=float, default=20.0, help="of load (1 to 600)")
        parser.add_argument("--documents", type=int, default=5000)
        parser.add_argument("--groups", type=int, default=1000)
        parser.add_argument(
            "--database-url", default="", help="a THROWAWAY database (default: temporary SQLite)"
        )
        parser.add_argument("--redis-url", default="", help="services mode: a separate worker")
        parser.add_argument("--no-sync", action="store_true", help="load only, no sync running")
        parser.add_argument(
            "--compare", type=int, default=0, metavar="ROUNDS",
            help="alternate ROUNDS runs of the old set-up and of the current one",
        )  # fmt: skip
        parser.add_argument("--fill", action="store_true", help=_hidden())

    def handle(self, *args: Any, **options: Any) -> None:
        if options["fill"]:
            self._fill(options)
            return
        if not 1 <= options["users"] <= 100 or not 1 <= options["seconds"] <= 600:
            raise CommandError("Give 1 to 100 users and 1 to 600 seconds.")
        if options["groups"] * 4 > options["documents"]:
            raise CommandError("Give at least 4 documents per group.")
        if not options["compare"]:
            self._report(self._run(options), options)
            return
        results: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for round_ in range(options["compare"]):
            for name, setup in SETUPS.items():
                self.stderr.write(f"round {round_ + 1}: {name}")
                result = self._run(options, **setup)
                self._report(result, options, title=name)
                results[name].append(result)
        self._compare(results, options)

    # --- the child that fills the database ------------------------------------------------------

    def _fill(self, options: dict[str, Any]) -> None:
        from django.contrib.auth import get_user_model

        from duplicates.management.commands.groups_page_benchmark import analyse_tables, fill

        fill(documents=options["documents"], groups=options["groups"], seed=1)
        analyse_tables()
        users = get_user_model().objects
        users.filter(username="load").delete()
        users.create_superuser(username="load", email="", password=PASSWORD)

    # --- the parent: processes, load, figures ---------------------------------------------------

    def _run(
        self,
        options: dict[str, Any],
        *,
        extra_env: dict[str, str] | None = None,
        web_processes: int | None = None,
    ) -> dict[str, Any]:
        root = Path(settings.BASE_DIR)
        manage = [sys.executable, str(root / "manage.py")]
        with tempfile.TemporaryDirectory(prefix="dedupe-load-bench-") as data_dir:
            env = {
                **os.environ,
                "DEDUPE_ENVIRONMENT": "development",
                "DEDUPE_DATA_DIR": data_dir,
                "DATABASE_URL": options["database_url"] or f"sqlite:///{data_dir}/load.db",
                "DEDUPE_LOG_LEVEL": "WARNING",
                "DEDUPE_REDIS_PREFIX": f"dedupe-load-{os.getpid()}",
            }
            env.pop("REDIS_URL", None)
            env.update(extra_env or {})
            if options["redis_url"]:
                env["REDIS_URL"] = options["redis_url"]
            self._step("migrating and filling", root, env, [*manage, "migrate", "-v", "0"])
            self._step(
                "filling", root, env,
                [*manage, "load_benchmark", "--fill", "--documents", str(options["documents"]),
                 "--groups", str(options["groups"])],
            )  # fmt: skip
            processes: list[subprocess.Popen] = []
            try:
                fake_port, web_port = _free_ports(2)
                env["PAPERLESS_URL"] = f"http://127.0.0.1:{fake_port}"
                env["PAPERLESS_API_TOKEN"] = TOKEN
                processes.append(
                    self._spawn(
                        [sys.executable, "-m", "tests.fake_paperless", "--port", str(fake_port),
                         "--documents", str(options["documents"]), "--token", TOKEN,
                         "--thumbnail-pool", "20", "--file-latency-ms", "62"],
                        root, env, Path(data_dir) / "fake.log",
                    )
                )  # fmt: skip
                processes.append(
                    self._spawn(
                        [*manage, "serve", "--port", str(web_port)]
                        + ([] if web_processes is None else ["--processes", str(web_processes)]),
                        root, env, Path(data_dir) / "web.log",
                    )
                )  # fmt: skip
                if options["redis_url"]:
                    processes.append(
                        self._spawn(
                            [*manage, "rundramatiq", "--processes", "1", "--threads", "2"],
                            root, env, Path(data_dir) / "worker.log",
                        )
                    )  # fmt: skip
                url = f"http://127.0.0.1:{web_port}"
                _wait_for(f"{url}/health/live", processes)
                _wait_for(
                    f"http://127.0.0.1:{fake_port}/api/documents/",
                    processes,
                    ok_statuses=(401,),
                    seconds=600,
                )
                result = self._load(url=url, options=options)
            except CommandError as exc:
                logs = "\n".join(
                    f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}"
                    for log in sorted(Path(data_dir).glob("*.log"))
                )
                raise CommandError(f"{exc}\n{logs}") from exc
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    try:
                        process.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        process.kill()
        return result

    def _step(self, what: str, root: Path, env: dict[str, str], args: list[str]) -> None:
        done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise CommandError(f"{what} failed:\n{done.stderr[-3000:]}")

    def _spawn(
        self, args: list[str], root: Path, env: dict[str, str], log: Path
    ) -> subprocess.Popen:
        return subprocess.Popen(  # noqa: S603 - our own commands
            args, cwd=root, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )

    def _load(self, *, url: str, options: dict[str, Any]) -> dict[str, Any]:
        clients = [_login(url) for _ in range(options["users"])]
        sync_id = None
        if not options["no_sync"]:
            first = clients[0]
            response = first.post(
                "/api/sync",
                json={"full": True},
                headers={"X-CSRFToken": first.cookies["csrftoken"]},
            )
            if response.status_code != 202:
                raise CommandError(f"the sync did not start: {response.text[:500]}")
            sync_id = response.json()["id"]
            deadline = time.monotonic() + 60
            while _job_status(first, sync_id) != "running":
                if time.monotonic() > deadline:
                    raise CommandError("the sync did not start running within 60 s")
                time.sleep(0.2)
        samples: list[tuple[str, float, int]] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + options["seconds"]

        def user(client: httpx.Client, offset: int) -> None:
            names = list(PAGES)
            turn = offset
            while time.monotonic() < stop_at:
                name = names[turn % len(names)]
                turn += 1
                started = time.perf_counter()
                try:
                    status = client.get(PAGES[name]).status_code
                except httpx.HTTPError:
                    status = 0
                elapsed = time.perf_counter() - started
                with lock:
                    samples.append((name, elapsed, status))

        started = time.monotonic()
        threads = [
            threading.Thread(target=user, args=(client, index), daemon=True)
            for index, client in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=options["seconds"] + 120)
        wall = time.monotonic() - started
        sync_status = _job_status(clients[0], sync_id) if sync_id else None
        if sync_status and sync_status != "running":
            job = clients[0].get(f"/api/jobs/{sync_id}").json()
            ended = datetime.fromisoformat(job["finished_at"])
            window_start = datetime.now(tz=UTC) - timedelta(seconds=time.monotonic() - started)
            sync_status += f" {max(0.0, (ended - window_start).total_seconds()):.0f} s into it"
        for client in clients:
            client.close()
        return {"samples": samples, "wall": wall, "sync_status": sync_status}

    def _report(self, result: dict[str, Any], options: dict[str, Any], *, title: str = "") -> None:
        backend = "PostgreSQL" if options["database_url"].startswith("postgres") else "SQLite"
        mode = "services (separate worker, Redis)" if options["redis_url"] else "embedded"
        sync = result["sync_status"]
        during = (
            "no sync"
            if sync is None
            else ("a sync ran throughout" if sync == "running" else f"the sync ended ({sync})")
        )
        lines = [
            (f"[{title}] " if title else "")
            + f"{options['users']} users for {result['wall']:.1f} s, {options['documents']:,} "
            f"documents, {options['groups']:,} groups, {backend}, {mode}; {during}",
            f"{'page':<12} {'requests':>8} {'per s':>7} {'p50 ms':>8} {'p90 ms':>8} "
            f"{'max ms':>8} {'errors':>6}",
        ]
        for name in PAGES:
            rows = [s for s in result["samples"] if s[0] == name]
            ok = [s[1] * 1000 for s in rows if s[2] == 200]
            errors = len(rows) - len(ok)
            if not ok:
                lines.append(f"{name:<12} {len(rows):>8} no successful answers")
                continue
            lines.append(
                f"{name:<12} {len(rows):>8} {len(rows) / result['wall']:>7.1f} "
                f"{statistics.median(ok):>8.0f} {_percentile(ok, 0.9):>8.0f} {max(ok):>8.0f} "
                f"{errors:>6}"
            )
        self.stdout.write("\n".join(lines))

    def _compare(self, results: dict[str, list[dict[str, Any]]], options: dict[str, Any]) -> None:
        lines = [
            f"\nmedians of {options['compare']} rounds each ({options['users']} users, "
            f"{options['seconds']:g} s each, during a sync unless --no-sync)",
            f"{'page':<12} {'':<7} {'per s':>7} {'p50 ms':>8} {'p90 ms':>8}",
        ]
        for name in PAGES:
            figures = {}
            for setup, rounds in results.items():
                per_round = [_figures(r, name) for r in rounds]
                figures[setup] = {
                    key: statistics.median(f[key] for f in per_round)
                    for key in ("per_s", "p50", "p90")
                }
                lines.append(
                    f"{name:<12} {setup:<7} {figures[setup]['per_s']:>7.1f} "
                    f"{figures[setup]['p50']:>8.0f} {figures[setup]['p90']:>8.0f}"
                )
            before, after = figures["before"], figures["after"]
            lines.append(
                f"{name:<12} {'ratio':<7} {after['per_s'] / before['per_s']:>6.2f}x "
                f"{after['p50'] / before['p50']:>7.2f}x {after['p90'] / before['p90']:>7.2f}x"
            )
        self.stdout.write("\n".join(lines))


def _figures(result: dict[str, Any], page: str) -> dict[str, float]:
    rows = [s for s in result["samples"] if s[0] == page]
    ok = [s[1] * 1000 for s in rows if s[2] == 200] or [float("nan")]
    return {
        "per_s": len(rows) / result["wall"],
        "p50": statistics.median(ok),
        "p90": _percentile(ok, 0.9),
    }


def _hidden() -> str:
    import argparse

    return argparse.SUPPRESS


def _wait_for(
    url: str,
    processes: list[subprocess.Popen],
    *,
    ok_statuses: tuple[int, ...] = (),
    seconds: float = 60,
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise CommandError("a process of the benchmark exited early")
        try:
            status = httpx.get(url, timeout=2).status_code
            if status == 200 or status in ok_statuses:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise CommandError(f"{url} did not answer within {seconds:g} s")


def _login(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=False)
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        data={
            "username": "load",
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": url + "/accounts/login/"},
    )
    if response.status_code != 302:
        raise CommandError(f"could not log in: HTTP {response.status_code}")
    return client


def _job_status(client: httpx.Client, job_id: int) -> str:
    return client.get(f"/api/jobs/{job_id}").json()["status"]
