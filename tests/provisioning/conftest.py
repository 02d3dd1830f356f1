"""Helpers for the provisioning tests: Debian's Prometheus tools, and a rendered set."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from provisioning.render import RenderedPaths, render

TOKEN = "am-token-0123456789abcdef"
SD_TOKEN = "sd-token-0123456789abcdef"


def tool(*names: str) -> str:
    """The first of ``names`` installed; skips (naming the package) when none is."""
    for name in names:
        found = shutil.which(name) or next(
            (path for path in (f"/usr/bin/{name}", f"/usr/sbin/{name}") if Path(path).exists()), None)
        if found:
            return found
    pytest.skip(f"{' or '.join(names)} is not installed: apt-get install prometheus "
                "prometheus-alertmanager (script/bootstrap does)")


def run(*args: str | Path) -> str:
    """Run a checker; a failure shows what it said."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "alertmanager_webhook_token"
    path.parent.mkdir()
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
def sd_token_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "sd_token"
    path.parent.mkdir(exist_ok=True)
    path.write_text(SD_TOKEN + "\n")
    return path


@pytest.fixture
def rendered(tmp_path: Path, token_file: Path, sd_token_file: Path) -> RenderedPaths:
    """A set with every value changed from the committed one, as the tests of the stack do."""
    return render(tmp_path / "out", exporter="127.0.0.1:19117", portal="127.0.0.1:18000",
                  alertmanager="127.0.0.1:19093", webhook_token_file=token_file,
                  sd_token_file=sd_token_file,
                  server_down_for="3s", scrape_interval="1s", evaluation_interval="1s",
                  group_wait="1s", group_interval="2s",
                  portal_url="https://servermon.bank.example/")
