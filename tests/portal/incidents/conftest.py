"""An app that plans pages (both channels configured), and a person on call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import fresh_app, make_config
from tests.factories import make_user


def paging_app(migrated: str) -> Iterator:
    """For a module's ``app`` fixture: pages are planned; nothing here sends them."""
    config = make_config(migrated, SMTP_HOST="127.0.0.1", SMTP_PORT=2525,
                         SMTP_FROM="servermon@bank.example", TWILIO_ACCOUNT_SID="AC" + "0" * 32,
                         TWILIO_AUTH_TOKEN="twilio-token-0123", TWILIO_FROM="+15005550006")
    with fresh_app(config) as app:
        yield app


@pytest.fixture
def on_call():
    return make_user("it_staff", phone="+256700000001", notify_sms=True)
