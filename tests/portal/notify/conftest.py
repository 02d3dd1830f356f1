"""An app wired to the SMTP sink and the Twilio stand-in, and a real dramatiq worker."""

from __future__ import annotations

import threading

import dramatiq
import pytest
from argon2 import PasswordHasher

from portal.auth import passwords
from tests.conftest import fresh_app, make_config
from tests.support.standins import TwilioStandIn, smtp_sink

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-token-0123"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Users are made and signed in here by the dozen; Argon2's cost is tested in auth."""
    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def smtp():
    """Stand-in for the bank's mail relay: (port, messages received)."""
    with smtp_sink() as (port, messages):
        yield port, messages


@pytest.fixture
def twilio():
    """Stand-in for Twilio's REST API, polled often so that it stops at once."""
    stand_in = TwilioStandIn()
    stand_in.thread = threading.Thread(target=stand_in.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
    with stand_in:
        yield stand_in


@pytest.fixture
def notify_app(migrated, smtp, twilio):
    config = make_config(
        migrated, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp[0], SMTP_FROM="servermon@bank.example",
        TWILIO_ACCOUNT_SID=TWILIO_SID, TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
        TWILIO_FROM="+15005550006", TWILIO_BASE_URL=twilio.url,
        PORTAL_URL="https://servermon.bank.example")
    with fresh_app(config) as app:
        yield app


@pytest.fixture
def notify_client(notify_app):
    return notify_app.test_client()


@pytest.fixture
def worker(notify_app):
    """A real dramatiq worker in this process, on the real broker (Redis db 15)."""
    broker = dramatiq.get_broker()
    running = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    running.start()
    yield broker
    running.stop()
