"""A flapping server is one incident, paged once when it starts flapping and once when it
settles; every change stays in the log and only the down parts count as downtime."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notify.models import Notification
from portal.pipeline.service import watch_pipeline
from portal.servers.models import ServerEvent
from portal.settings.service import update_settings
from tests.factories import login, make_server, make_user
from tests.portal.incidents.conftest import paging_app
from tests.portal.incidents.test_webhook import alert, incidents, payload, post, probe_change
from tests.support.pages import sign_in

S = timedelta(seconds=1)
MIN = timedelta(minutes=1)


def sms_states() -> list[str]:
    db.session.expire_all()
    return [row.state for row in db.session.scalars(
        db.select(Notification).where(Notification.channel == "sms").order_by(Notification.id))]


@pytest.fixture
def app(migrated):
    yield from paging_app(migrated)


@pytest.fixture
def flappy(app):
    update_settings({"flap_changes": 5, "flap_window_min": 10, "flap_settle_min": 2}, None)
    return make_server("cbs-app-01")


def bounce(client, app, server, down_at, up_at, *, resolve=True):
    """One down and up, as the probes and Alertmanager report them."""
    probe_change(app, server, "down", down_at)
    post(client, payload(alert(server, starts=down_at + 2 * S)))
    probe_change(app, server, "up", up_at)
    if resolve:
        post(client, payload(alert(server, "resolved", starts=down_at + 2 * S, ends=up_at + S)))


def test_a_flapping_server_is_one_incident_said_once_then_settled(client, app, flappy, on_call):
    start = utcnow() - 9 * MIN
    bounce(client, app, flappy, start, start + 30 * S)               # changes 1, 2
    bounce(client, app, flappy, start + MIN, start + 90 * S)         # 3, 4
    assert len(incidents()) == 2 and sms_states() == ["firing", "resolved", "firing", "resolved"]
    # The fifth change within 10 minutes: flapping.
    bounce(client, app, flappy, start + 2 * MIN, start + 150 * S)    # 5, 6
    for minute in (3, 4, 5):                                          # 7 to 12
        bounce(client, app, flappy, start + minute * MIN, start + minute * MIN + 30 * S)
    *_, period = incidents()
    assert period.flapping_since is not None and period.is_open
    assert period.started_at == start + 2 * MIN
    assert sms_states() == ["firing", "resolved", "firing", "resolved", "flapping"]
    db.session.expire_all()
    changes = db.session.scalars(db.select(ServerEvent).where(
        ServerEvent.server_id == flappy.id)).all()
    assert len(changes) == 12  # every change is still in the log
    headers = login(client, make_user("flexipay_support"))
    assert client.get(f"/api/servers/{flappy.id}", headers=headers).get_json()["status"] == "up"
    sign_in(client, "it_staff")
    html = client.get("/alerts").get_data(as_text=True)
    row = html.split(f'data-incident-id="{period.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Flapping since" in row and "closing" not in row
    # Up since start + 5.5 min, i.e. 3.5 minutes ago: settled (2 min), so it closes there.
    watch_pipeline()
    db.session.refresh(period)
    assert period.ended_at == start + 5 * MIN + 30 * S
    assert sms_states() == ["firing", "resolved", "firing", "resolved", "flapping", "resolved"]
    settled = db.session.scalars(db.select(Notification).where(
        Notification.incident_id == period.id, Notification.state == "resolved",
        Notification.recipient == on_call.email)).one()
    assert settled.subject.startswith("[servermon] SETTLED: cbs-app-01 stopped flapping, up since")


def test_an_open_outage_becomes_a_flapping_period_between_alertmanagers_posts(
        client, app, flappy, on_call):
    """Alertmanager posts a group at most once a minute; the reconciler sees the flaps."""
    start = utcnow() - 2 * MIN  # the last change, 100 s later, is too recent to settle
    probe_change(app, flappy, "down", start)
    post(client, payload(alert(flappy, starts=start + 2 * S)))
    for n in range(1, 6):
        probe_change(app, flappy, "up" if n % 2 else "down", start + n * 20 * S)
    [incident] = incidents()
    incident.created_at = utcnow() - 3 * MIN
    db.session.commit()
    watch_pipeline()
    db.session.refresh(incident)
    assert incident.flapping_since is not None and incident.is_open
    assert sms_states() == ["firing", "flapping"]
    watch_pipeline()
    assert sms_states() == ["firing", "flapping"]  # said once


def test_only_the_down_parts_of_a_flapping_period_are_downtime(client, app, flappy):
    start = utcnow().replace(microsecond=0) - 30 * MIN
    flappy.created_at = start - timedelta(days=1)
    for minute in range(0, 10, 2):  # down 1 min, up 1 min, five times
        probe_change(app, flappy, "down", start + minute * MIN)
        post(client, payload(alert(flappy, starts=start + minute * MIN + 2 * S)))
        probe_change(app, flappy, "up", start + (minute + 1) * MIN)
    [*_, period] = incidents()
    assert period.flapping_since is not None
    period.ended_at = start + 9 * MIN
    db.session.commit()
    headers = login(client, make_user("flexipay_support"))
    query = (f"from={(start - MIN).isoformat()}&to={(start + 20 * MIN).isoformat()}"
             f"&server_id={flappy.id}").replace("+", "%2B")
    body = client.get(f"/api/reports/downtime?{query}", headers=headers).get_json()
    [row] = body["servers"]
    assert row["downtime_s"] == 5 * 60  # not the 9-minute span of the flapping period
