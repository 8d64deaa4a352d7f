"""Fetch the browser libraries we serve from our own static files (no CDN: users run offline).

Pinned versions, downloaded from the npm registry once at set-up (``./dev`` and the Dockerfile do
it) and checked against the registry's published SHA-512 before anything is written. Runs without
Django: ``python -m dedupe_project.vendor``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
TARGET = Path(__file__).resolve().parent.parent / "static" / "vendor"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # as published in the registry's dist.integrity
    files: dict[str, str]  # path inside the tarball -> file name under static/vendor/

    @property
    def tarball_url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name}-{self.version}.tgz"


PACKAGES = [
    Package(
        name="htmx.org",
        version="2.0.8",
        integrity="sha512-fm297iru0iWsNJlBrjvtN7V9zjaxd+69Oqjh4F/Vq9Wwi2kFisLcrLCiv5oBX0KLfOX/zG8AUo9ROMU5XUB44Q==",
        files={"package/dist/htmx.min.js": "htmx.min.js"},
    ),
    Package(
        name="htmx-ext-ws",
        version="2.0.4",
        integrity="sha512-LnOpFRL/2hInhdKl/9N0OJsb4GYQ5/teUdTHNZYY9ytYdxYEqjfLEe0MWgF3ODjfwGJRb4E95igAbU66te48ZA==",
        files={"package/dist/ws.min.js": "htmx-ext-ws.min.js"},
    ),
]


def _verify(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if digest != expected:
        raise SystemExit(f"integrity check failed: expected {integrity}, got {algorithm}-{digest}")


def fetch(package: Package, *, target: Path = TARGET) -> None:
    with urllib.request.urlopen(package.tarball_url, timeout=60) as response:  # noqa: S310
        data = response.read()
    _verify(data, package.integrity)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member_path, name in package.files.items():
            member = archive.extractfile(member_path)
            if member is None:
                raise SystemExit(f"{member_path} is not in {package.name} {package.version}")
            (target / name).write_bytes(member.read())
    (target / f".{package.name}-{package.version}").touch()


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    for package in PACKAGES:
        if (TARGET / f".{package.name}-{package.version}").exists():
            continue
        print(f"fetching {package.name} {package.version}")
        fetch(package)
    return 0


if __name__ == "__main__":
    sys.exit(main())
