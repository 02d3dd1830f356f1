"""The worker SIGKILLed mid-send, and Twilio failing then throttling: every page goes out,
once, and the dead worker's within 90 s."""

from __future__ import annotations

import pytest

from tests.chaos import scenarios
from tests.chaos.scenarios import ADMIN_PHONE, ON_CALL_PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def sms_to(result, phone):
    return sum(n for (to, _), n in result.delivered_sms.items() if to == phone)


def test_a_worker_killed_mid_send_has_its_pages_sent_again_within_90_s(stack):
    result = scenarios.worker_killed_mid_send(stack)
    assert result.heal_s < 90
    assert sms_to(result, ON_CALL_PHONE) == 1 and sms_to(result, ADMIN_PHONE) == 1
    assert result.duplicates == 0


def test_twilio_500_then_429_still_sends_each_sms_once(stack):
    result = scenarios.twilio_failing(stack)
    assert sms_to(result, ON_CALL_PHONE) == 1 and sms_to(result, ADMIN_PHONE) == 1
    assert result.duplicates == 0
    assert stack.twilio.received == 2 + 2 + 2  # two 500s, two 429s, two sent


def test_a_mail_relay_down_delivers_each_e_mail_once_when_it_is_back(stack):
    """Down 30 s from the outage on: the first attempts (0 and 10 s) fail, the third (40 s)
    arrives. (bench/chaos.py keeps it down 10 minutes.)"""
    result = scenarios.smtp_down(stack, down_s=30)
    mails = {to for to, _ in result.delivered_mail}
    assert len(mails) == 2 and sum(result.delivered_mail.values()) == 2
    assert result.duplicates == 0 and result.heal_s < 90
