"""Alertmanager and Prometheus restarted mid-outage, and a pipeline that cannot deliver:
every incident still closes, at the probe's up-event, paged exactly once each way."""

from __future__ import annotations

import pytest

from tests.chaos import scenarios
from tests.chaos.scenarios import ADMIN_PHONE, ON_CALL_PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def assert_each_delivered_once(result):
    assert result.duplicates == 0, result.delivered_sms


def test_alertmanager_restarted_with_its_data_wiped(stack):
    result = scenarios.alertmanager_wiped(stack, servers=3)
    assert (result.incidents, result.left_open) == (3, 0)
    assert result.reconciled == 3  # Alertmanager's resolutions died with its data
    assert result.pages == {("on-call", "firing"): 3, ("on-call", "resolved"): 3,
                            ("admin", "firing"): 3, ("admin", "resolved"): 3}
    assert_each_delivered_once(result)
    # Each way, the first page at once and the rest of the three in a digest, or all alone:
    # every planned SMS in exactly one delivered message.
    sms = sum(n for (to, _), n in result.delivered_sms.items() if to == ON_CALL_PHONE)
    assert 2 <= sms <= 6 and scenarios.every_row_in_one_message()
    scenarios.wait_timed_from_probes(stack)


def test_prometheus_restarted_mid_outage(stack):
    result = scenarios.prometheus_restarted(stack, servers=2)
    assert (result.incidents, result.left_open) == (2, 0)
    assert result.pages == {("on-call", "firing"): 2, ("on-call", "resolved"): 2,
                            ("admin", "firing"): 2, ("admin", "resolved"): 2}
    assert_each_delivered_once(result)
    scenarios.wait_timed_from_probes(stack)


def test_a_pipeline_that_cannot_deliver_pages_admins_once_then_heals(stack):
    result = scenarios.pipeline_broken(stack)
    [broken] = scenarios.incidents("AlertingPipelineBroken")
    assert not broken.is_open and "swift-gw" in broken.summary
    assert result.pages[("admin", "firing")] == 2  # the broken pipeline, then the outage
    assert result.pages[("on-call", "firing")] == 1  # only the outage: the pipeline is ours
    assert result.left_open == 0
    assert_each_delivered_once(result)
    assert {to for to, _ in result.delivered_sms} == {ON_CALL_PHONE, ADMIN_PHONE}
