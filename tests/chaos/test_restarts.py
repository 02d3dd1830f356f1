"""Redis killed and back empty, the database stopped, and the portal dead while alerts
fire: every outage is still recorded once, paged once each way, and closed at the probe's
times."""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests.chaos import scenarios
from tests.chaos.conftest import CHAOS_ENV
from tests.e2e.test_outage_to_phone import base_env
from tests.support.postgres import private_postgres
from tests.support.stack import SHORT, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

EACH_WAY = {("on-call", "firing"): 2, ("on-call", "resolved"): 2,
            ("admin", "firing"): 2, ("admin", "resolved"): 2}


def assert_healed(result, stack) -> None:
    """Two outages, both closed, paged once each way to each person, timed by the probes."""
    assert (result.incidents, result.left_open) == (2, 0)
    assert result.pages == EACH_WAY
    assert result.duplicates == 0
    scenarios.wait_timed_from_probes(stack)


def test_redis_killed_and_back_empty_mid_outage(stack):
    assert_healed(scenarios.redis_lost(stack), stack)


def test_the_portal_killed_while_alerts_fire(stack):
    assert_healed(scenarios.portal_killed(stack), stack)


def test_the_database_stopped_for_30_s_as_servers_fail(tmp_path):
    from flask_migrate import upgrade

    with private_postgres() as cluster, \
            Stack({**base_env(cluster.url), **CHAOS_ENV}, tmp_path, SHORT, own_redis=True) as stack, \
            stack.app.app_context():
        upgrade()
        assert_healed(scenarios.database_down(stack, cluster), stack)
        db.session.remove()
