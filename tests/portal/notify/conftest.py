"""An app wired to the SMTP sink and the Twilio stand-in, and a real dramatiq worker."""

from __future__ import annotations

import dramatiq
import pytest

from tests.conftest import fresh_app, make_config
from tests.support.standins import TwilioStandIn, smtp_sink

TWILIO_SID = "AC" + "0" * 32


@pytest.fixture
def smtp():
    with smtp_sink() as (port, messages):
        yield port, messages


@pytest.fixture
def twilio():
    with TwilioStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def notify_app(migrated, smtp, twilio):
    config = make_config(
        migrated, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp[0], SMTP_FROM="servermon@bank.example",
        TWILIO_ACCOUNT_SID=TWILIO_SID, TWILIO_AUTH_TOKEN="twilio-token-0123",
        TWILIO_FROM="+15005550006", TWILIO_BASE_URL=twilio.url,
        PORTAL_URL="https://servermon.bank.example")
    with fresh_app(config) as app:
        yield app


@pytest.fixture
def notify_client(notify_app):
    return notify_app.test_client()


@pytest.fixture
def worker(notify_app):
    broker = dramatiq.get_broker()
    running = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    running.start()
    yield broker
    running.stop()


