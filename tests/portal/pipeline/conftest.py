"""A real Alertmanager (Debian's) and an app that pages by e-mail and SMS through it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from portal.dbtypes import utcnow
from tests.conftest import fresh_app, paging_config
from tests.support.binaries import alertmanager, free_port

AM_CONFIG = """\
route:
  receiver: nobody
receivers:
  - name: nobody
"""


@pytest.fixture
def am_url(tmp_path):
    """Its own per test (about a second to start): alerts cannot be deleted from one."""
    config = tmp_path / "alertmanager.yml"
    config.write_text(AM_CONFIG)
    with alertmanager(config, tmp_path) as url:
        yield url


def pipeline_config(migrated: str, am: str):
    return paging_config(migrated, ALERTMANAGER_URL=am, RECONCILE_GRACE_S=60,
                         UNALERTED_AFTER_S=300, WATCHDOG_SILENT_AFTER_S=180)


@pytest.fixture
def app(migrated, am_url):
    with fresh_app(pipeline_config(migrated, am_url)) as paging_app:
        yield paging_app


@pytest.fixture
def am_down_app(migrated):
    with fresh_app(pipeline_config(migrated, f"http://127.0.0.1:{free_port()}")) as down_app:
        yield down_app


def fire_in_alertmanager(am: str, server_id: int, alertname: str = "ServerDown",
                         starts: datetime | None = None) -> None:
    """Put an active alert into Alertmanager, as Prometheus does."""
    starts = starts or utcnow() - timedelta(minutes=10)
    response = requests.post(f"{am}/api/v2/alerts", timeout=5, json=[{
        "labels": {"alertname": alertname, "server_id": str(server_id), "severity": "critical"},
        "startsAt": starts.isoformat(), "endsAt": (utcnow() + timedelta(minutes=5)).isoformat(),
    }])
    response.raise_for_status()
