"""A switch and the 20 servers behind it fail together on the whole stack: each person gets
one page, the switch's, naming the 20; every outage is recorded and none is left open."""

from __future__ import annotations

import pytest

from tests.chaos import scenarios

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def test_a_parent_and_20_dependants_down_is_one_page_per_person_naming_them(stack):
    result = scenarios.parent_and_dependants(stack, dependants=20)
    assert (result.incidents, result.left_open, result.suppressed) == (21, 0, 20)
    assert len(result.down) == 4  # two people, an address and a phone each
    assert set(result.down.values()) == {1} and result.resolved == result.down
    assert len(result.bodies) == 2  # one e-mail each, with their own acknowledgement links
    assert all("20 servers depend on it (cbs-app-00, cbs-app-01, cbs-app-02 and 17 more)" in body
               for body in result.bodies)
    scenarios.wait_timed_from_probes(stack)
