"""An app that plans pages (both channels configured), and a person on call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import fresh_app, paging_config
from tests.factories import make_user


def paging_app(migrated: str) -> Iterator:
    """For a module's ``app`` fixture: pages are planned; nothing here sends them."""
    with fresh_app(paging_config(migrated)) as app:
        yield app


@pytest.fixture
def on_call():
    return make_user("it_staff", phone="+256700000001", notify_sms=True)
