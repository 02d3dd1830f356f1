"""The whole stack with shortened timings for the chaos scenarios (tests/chaos/scenarios.py)."""

from __future__ import annotations

import pytest
import redis

from portal.extensions import db
from tests.conftest import TEST_REDIS_URL, _empty_tables
from tests.e2e.test_outage_to_phone import base_env
from tests.support.stack import SHORT, Stack

# Shortened like the rule and Alertmanager timings (SHORT), so a scenario takes a minute or
# two; bench/chaos.py runs the same scenarios at the production values.
CHAOS_ENV = {"RECONCILE_GRACE_S": "5", "UNALERTED_AFTER_S": "20"}


@pytest.fixture
def stack(migrated, tmp_path):
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    with Stack({**base_env(migrated), **CHAOS_ENV}, tmp_path, SHORT) as running, \
            running.app.app_context():
        _empty_tables()
        yield running
        db.session.remove()
