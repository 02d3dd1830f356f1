"""Sends beyond a provider's rate queue instead of failing: a real worker sends a burst of
SMS, to different people, no faster than SMS_PER_MINUTE, each once and none failed."""

from __future__ import annotations

import pytest

from tests.conftest import fresh_app, make_config
from tests.factories import make_server
from tests.portal.notify.conftest import TWILIO_SID, TWILIO_TOKEN
from tests.portal.notify.helpers import fire, on_call, rows
from tests.support.waiting import wait_for

PER_MINUTE = 120  # one every 0.5 s


@pytest.fixture
def paced_app(migrated, twilio):
    config = make_config(migrated, TWILIO_ACCOUNT_SID=TWILIO_SID, TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
                         TWILIO_FROM="+15005550006", TWILIO_BASE_URL=twilio.url,
                         SMS_PER_MINUTE=PER_MINUTE)
    with fresh_app(config) as app:
        yield app


@pytest.fixture
def paced_worker(paced_app):
    import dramatiq

    running = dramatiq.Worker(dramatiq.get_broker(), worker_threads=4, worker_timeout=100)
    running.start()
    yield
    running.stop()


def test_a_burst_of_sms_goes_at_the_providers_rate_without_failing(paced_app, paced_worker,
                                                                    twilio):
    people = [on_call(notify_email=False, phone=f"+25670000010{n}") for n in range(6)]
    fire(paced_app.test_client(), make_server("core-banking"))
    wait_for(lambda: len(twilio.sent) == len(people), timeout=20, what="every SMS")
    assert sorted(sms["To"] for sms in twilio.sent) == sorted(person.phone for person in people)
    times = sorted(sms["at"] for sms in twilio.sent)
    # Never faster than the rate: the limiter grants a send every 0.5 s, so the k-th after
    # the first comes k slots later at the soonest. What the stand-in sees also carries each
    # request's own latency, which a loaded machine varies: one late send followed at once
    # by the next is still within the rate, so the sends are counted from the first.
    early = [k for k, at in enumerate(times) if at - times[0] < k * 0.5 - 0.15]
    assert early == [] and (times[-1] - times[0]) / (len(times) - 1) >= 0.5 - 0.05, times
    assert twilio.received == len(people)  # nothing refused, nothing retried
    assert {row.status for row in rows()} == {"sent"} and {row.attempts for row in rows()} == {1}
