"""The real exporter as a process of its own, for tests that call its /probe through the portal."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.support.binaries import free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent.parent


@contextmanager
def exporter_process(log_dir: Path, sd_token: str, **env: str) -> Iterator[str]:
    """Its base URL once /healthz answers; ``env`` adds to what it is given."""
    port = free_port()
    log = (log_dir / "exporter.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "EXPORTER_PORT": str(port), "EXPORTER_LISTEN": "127.0.0.1",
             "SD_TOKEN": sd_token, "PORTAL_URL": "http://127.0.0.1:9",
             "REDIS_URL": "redis://127.0.0.1:6379/13", **env})
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{url}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    try:
        wait_for(up, timeout=20, what="exporter")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
