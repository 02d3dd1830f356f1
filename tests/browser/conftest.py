from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import make_user
from tests.support.browser import CHROMIUM, gunicorn_portal


@pytest.fixture
def portal(app, config, tmp_path) -> Iterator[tuple[str, object]]:
    """A user made through the factories, then gunicorn serving the same database with the
    same config (a test module may override ``config``); its output in tmp_path/portal.log."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    user = make_user("it_staff", username="browser.user")
    with gunicorn_portal(config, tmp_path / "portal.log") as base:
        yield base, user
