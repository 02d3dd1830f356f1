"""A target alternating down and up: one flapping period, said once, settled, at two probe
intervals; every change is in the log and no incident stays open."""

from __future__ import annotations

import pytest

from tests.chaos import scenarios

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


@pytest.mark.parametrize(("interval_s", "half_period_s", "cycles"), [(10, 13, 3), (15, 18, 3)])
def test_a_flapping_server_is_one_flapping_period_said_once(stack, interval_s, half_period_s,
                                                            cycles):
    result = scenarios.flapping(stack, interval_s=interval_s, half_period_s=half_period_s,
                                cycles=cycles)
    found = scenarios.incidents("ServerDown")
    periods = [incident for incident in found if incident.flapping_since is not None]
    assert len(periods) == 1 and result.left_open == 0
    # Before it is known to flap (5 changes), at most two ordinary outages.
    assert len(found) <= 3
    for who in ("on-call", "admin"):
        assert result.pages.get((who, "flapping")) == 1
        assert result.pages.get((who, "firing"), 0) == len(found) - 1 or \
            result.pages.get((who, "firing"), 0) == len(found)
        assert result.pages[(who, "resolved")] == len(found)
    assert result.duplicates == 0
    scenarios.wait_timed_from_probes(stack)
