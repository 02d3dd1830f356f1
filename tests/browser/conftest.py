from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import make_user
from tests.support.browser import CHROMIUM, gunicorn_portal


@pytest.fixture
def portal_overrides() -> dict[str, str]:
    """Environment the portal process gets on top of the test config; tests override it."""
    return {}


@pytest.fixture
def portal(app, config, portal_overrides) -> Iterator[tuple[str, object]]:
    """A user made through the factories, then gunicorn serving the same database."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    user = make_user("it_staff", username="browser.user")
    with gunicorn_portal(config, **portal_overrides) as base:
        yield base, user
