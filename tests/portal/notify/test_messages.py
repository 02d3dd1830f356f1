"""What the messages say: what is down, since when in local time, why, for how long, where."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.notify.messages import SMS_LIMIT, compose, human_duration
from tests.portal.notify.helpers import T0, incident

KAMPALA = ZoneInfo("Africa/Kampala")
URL = "https://servermon.bank.example"


def outage(**fields):
    return incident(**{"id": 42, "reason": "connection refused", **fields})


def test_an_outage_says_what_since_when_why_and_where():
    message = compose(outage(), "firing", KAMPALA, URL)
    assert message.subject == "[servermon] DOWN: core-banking - connection refused"
    assert "core-banking is down since 2026-11-28 08:00 EAT." in message.body
    assert "Reason: connection refused" in message.body
    assert f"{URL}/alerts?incident=42" in message.body
    assert message.sms == ("DOWN core-banking since 2026-11-28 08:00 EAT: connection refused. "
                           f"{URL}/alerts?incident=42")


def test_times_are_in_the_configured_zone():
    message = compose(outage(), "firing", ZoneInfo("Europe/London"), URL)
    assert "since 2026-11-28 05:00 GMT" in message.body


def test_the_summary_stands_in_when_the_probe_gave_no_reason():
    message = compose(outage(reason=None, summary="core-banking is down"), "firing", KAMPALA, URL)
    assert "Reason: core-banking is down" in message.body


def test_a_resolution_says_how_long_it_was_down():
    message = compose(outage(ended_at=T0 + timedelta(minutes=4, seconds=12)), "resolved",
                      KAMPALA, URL)
    assert message.subject == "[servermon] RESOLVED: core-banking is back up after 4 min 12 s"
    assert "It was down for 4 min 12 s, since 2026-11-28 08:00 EAT." in message.body
    assert message.sms.startswith("RESOLVED core-banking: up again after 4 min 12 s.")


def test_a_long_reason_still_fits_one_sms_with_its_link():
    message = compose(outage(reason="x" * 400), "firing", KAMPALA, URL)
    assert len(message.sms) <= SMS_LIMIT
    assert message.sms.endswith(f"{URL}/alerts?incident=42")


def test_line_breaks_in_alert_text_cannot_reach_a_header_or_split_an_sms():
    message = compose(outage(reason="timeout\r\nBcc: attacker@evil.example"), "firing",
                      KAMPALA, URL)
    assert "\r" not in message.subject and "\n" not in message.subject
    assert "\n" not in message.sms
    assert "timeout Bcc: attacker@evil.example" in message.subject


@pytest.mark.parametrize(("seconds", "text"), [(0, "0 s"), (59.6, "1 min"), (252, "4 min 12 s"),
                                               (3600, "1 h"), (90061, "1 d 1 h")])
def test_durations_read_as_people_say_them(seconds, text):
    assert human_duration(seconds) == text
