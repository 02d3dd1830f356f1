from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.portal.realtime.sockets import OPEN
from tests.support.live_server import serving


@pytest.fixture
def live(app) -> Iterator[str]:
    with serving(app) as address:
        yield address


@pytest.fixture(autouse=True)
def close_sockets() -> Iterator[None]:
    """Client sockets run a non-daemon thread: close them even when a test fails."""
    yield
    while OPEN:
        ws = OPEN.pop()
        if ws.connected:
            ws.close()
