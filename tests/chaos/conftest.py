"""The whole stack with shortened timings for the chaos scenarios (tests/chaos/scenarios.py)."""

from __future__ import annotations

import pytest

from portal.extensions import db
from tests.conftest import _empty_tables
from tests.e2e.test_outage_to_phone import base_env
from tests.support.stack import SHORT, Stack, Timings

# Shortened like the rule and Alertmanager timings (SHORT), so a scenario takes a minute or
# two; bench/chaos.py runs the same scenarios at the production values.
CHAOS_ENV = {"RECONCILE_GRACE_S": "5", "UNALERTED_AFTER_S": "20"}
# Prometheus and the rules as committed (5 s scrapes and evaluations, ServerDown's window),
# only Alertmanager's grouping shortened: for what depends on the scrape and the interval.
COMMITTED_RULES = Timings(group_wait="1s", group_interval="2s")


def _stack(database_url, workdir, timings):
    """Each stack has a redis-server of its own: shards of tests/chaos run side by side
    (script/test), and a scenario may kill it."""
    with Stack({**base_env(database_url), **CHAOS_ENV}, workdir, timings,
               own_redis=True) as running, \
            running.app.app_context():
        _empty_tables()
        yield running
        db.session.remove()


@pytest.fixture
def stack(migrated, tmp_path):
    yield from _stack(migrated, tmp_path, SHORT)


@pytest.fixture
def committed_rules_stack(migrated, tmp_path):
    yield from _stack(migrated, tmp_path, COMMITTED_RULES)
