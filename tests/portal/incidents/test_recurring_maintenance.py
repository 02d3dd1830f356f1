"""Recurring maintenance: schedules become windows ahead of time, in the configured zone,
once however often (or however many workers) plan them, with real Alertmanager silences."""

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.maintenance_marks import mark_maintenance
from portal.incidents.models import Incident, MaintenanceSchedule, MaintenanceWindow
from portal.incidents.recurrence import occurrences
from portal.incidents.recurring import _insert_occurrence, plan_occurrences
from portal.jobs.periodic import sync_silences
from portal.settings.service import update_settings
from tests.conftest import fresh_app, make_config
from tests.factories import login, make_incident, make_server, make_user
from tests.support.binaries import alertmanager
from tests.support.pages import sign_in

LONDON = ZoneInfo("Europe/London")
NAIROBI = ZoneInfo("Africa/Nairobi")


def _schedule(server, effective_from: datetime, **fields) -> MaintenanceSchedule:
    """A schedule as the API leaves it, made from a chosen moment (planning is then asked
    about moments of the test's choosing)."""
    values = {"kind": "weekly", "weekdays": "MON", "start_time": "02:00", "cron": None,
              "duration_min": 120, "reason": "patching", **fields}
    schedule = MaintenanceSchedule(server_id=server.id, effective_from=effective_from,
                                   revision=1, **values)
    db.session.add(schedule)
    db.session.commit()
    return schedule


def _windows(schedule) -> list[tuple[datetime, datetime]]:
    return [(w.starts_at, w.ends_at) for w in db.session.scalars(
        select(MaintenanceWindow).where(MaintenanceWindow.schedule_id == schedule.id,
                                        MaintenanceWindow.cancelled_at.is_(None))
        .order_by(MaintenanceWindow.starts_at))]


def _utc(zone, *parts) -> datetime:
    return datetime(*parts, tzinfo=zone).astimezone(UTC)


def test_weekly_occurrences_of_the_next_day_and_the_next_one_become_windows(app):
    update_settings({"timezone": "Africa/Nairobi"}, None)
    server = make_server()
    since = _utc(NAIROBI, 2026, 11, 2, 0, 0)  # a Monday, midnight in Nairobi
    schedule = _schedule(server, since, weekdays="MON,THU", start_time="02:00")
    assert plan_occurrences(now=since) == 2
    # Monday 02:00 EAT (within the day), then Thursday's, the one after it.
    assert _windows(schedule) == [
        (datetime(2026, 11, 1, 23, 0, tzinfo=UTC), datetime(2026, 11, 2, 1, 0, tzinfo=UTC)),
        (datetime(2026, 11, 4, 23, 0, tzinfo=UTC), datetime(2026, 11, 5, 1, 0, tzinfo=UTC)),
    ]
    window = db.session.scalars(select(MaintenanceWindow)).first()
    assert window.server_id == server.id and window.reason == "patching"
    assert window.schedule_revision == 1 and window.silence_id is None
    audited = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "maintenance.created")).all()
    assert len(audited) == 2 and audited[0].after["schedule_id"] == schedule.id


def test_cron_occurrences_in_the_configured_zone(app):
    update_settings({"timezone": "Africa/Nairobi"}, None)
    since = _utc(NAIROBI, 2026, 11, 6, 12, 0)  # a Friday
    schedule = _schedule(make_server(), since, kind="cron", weekdays=None, start_time=None,
                         cron="30 22 * * 1-5", duration_min=30)
    plan_occurrences(now=since)
    # Friday 22:30 EAT, and the next weekday's: Monday's.
    assert [start for start, _ in _windows(schedule)] == [
        _utc(NAIROBI, 2026, 11, 6, 22, 30), _utc(NAIROBI, 2026, 11, 9, 22, 30)]


def test_a_start_the_clock_skips_begins_when_it_jumps_and_a_repeated_one_once():
    spring = list(zip(range(2), occurrences("30 1 * * SUN", LONDON,
                                            datetime(2026, 3, 28, tzinfo=UTC)), strict=False))
    # 29 March 2026: 01:00 GMT becomes 02:00 BST, so 01:30 never happens; it begins at 02:00.
    assert [start for _, start in spring] == [datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
                                              datetime(2026, 4, 5, 0, 30, tzinfo=UTC)]
    autumn = list(zip(range(2), occurrences("30 1 * * SUN", LONDON,
                                            datetime(2026, 10, 24, tzinfo=UTC)), strict=False))
    # 25 October: 01:30 happens twice (BST, then GMT); the occurrence is the first, once.
    assert [start for _, start in autumn] == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
                                              datetime(2026, 11, 1, 1, 30, tzinfo=UTC)]
    nairobi = [start for _, start in zip(range(2), occurrences(
        "30 1 * * SUN", NAIROBI, datetime(2026, 3, 28, tzinfo=UTC)), strict=False)]
    assert nairobi == [datetime(2026, 3, 28, 22, 30, tzinfo=UTC),
                       datetime(2026, 4, 4, 22, 30, tzinfo=UTC)]


def test_planning_in_london_across_the_clock_change(app):
    update_settings({"timezone": "Europe/London"}, None)
    since = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    schedule = _schedule(make_server(), since, weekdays="SAT,SUN", start_time="01:30",
                         duration_min=60)
    plan_occurrences(now=since)
    plan_occurrences(now=since + timedelta(days=1))
    assert _windows(schedule) == [
        # Sunday's 01:30 does not exist: 02:00 BST, an hour long (elapsed) all the same.
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 3, 29, 2, 0, tzinfo=UTC)),
        (datetime(2026, 4, 4, 0, 30, tzinfo=UTC), datetime(2026, 4, 4, 1, 30, tzinfo=UTC)),
    ]


def test_planning_twice_or_at_once_makes_each_occurrence_once(app):
    since = _utc(NAIROBI, 2026, 11, 2, 0, 0)
    schedule = _schedule(make_server(), since, kind="cron", weekdays=None, start_time=None,
                         cron="0 */2 * * *", duration_min=60)
    first = plan_occurrences(now=since)
    assert first == 13  # every two hours within the day, and the one after
    assert plan_occurrences(now=since) == 0
    errors: list[Exception] = []
    start = threading.Barrier(4)

    def worker() -> None:
        with app.app_context():
            try:
                start.wait(10)
                plan_occurrences(now=since + timedelta(hours=5))
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    starts = [start for start, _ in _windows(schedule)]
    assert len(starts) == len(set(starts)) == 13 + 3  # five hours on: three more
    # Below the look-up of what is planned, the unique key: an insert of an occurrence
    # another worker has just made is skipped, not an error.
    db.session.expire_all()
    assert _insert_occurrence(schedule, starts[0], starts[0] + timedelta(hours=1)) is None
    db.session.commit()
    assert len(_windows(schedule)) == 16


def test_an_edit_replaces_occurrences_not_begun_and_cancelling_cancels_them(client):
    server = make_server()
    headers = login(client, make_user("it_staff"))
    response = client.post("/api/maintenance/schedules", headers=headers, json={
        "server_id": server.id, "reason": "backups", "kind": "cron",
        "cron": "0 * * * *", "duration_min": 30})
    assert response.status_code == 201, response.get_json()
    schedule = response.get_json()
    assert len(schedule["next_starts"]) == 3 and schedule["timezone"] == "Africa/Kampala"
    first = _windows(db.session.get(MaintenanceSchedule, schedule["id"]))
    assert len(first) == 25
    one = db.session.scalars(select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at)
                             .limit(1)).one()
    assert client.delete(f"/api/maintenance/{one.id}", headers=headers).status_code == 200
    assert plan_occurrences() == 0  # a single occurrence cancelled stays cancelled

    refused = client.patch(f"/api/maintenance/schedules/{schedule['id']}", headers=headers,
                           json={"cron": "15 */3 * *", "duration_min": 2})
    assert refused.status_code == 400
    assert set(refused.get_json()["details"]) == {"cron", "duration_min"}
    assert len(_windows(db.session.get(MaintenanceSchedule, schedule["id"]))) == 24  # untouched
    edited = client.patch(f"/api/maintenance/schedules/{schedule['id']}", headers=headers,
                          json={"cron": "15 */3 * * *", "duration_min": 45})
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["revision"] == 2
    now_live = _windows(db.session.get(MaintenanceSchedule, schedule["id"]))
    assert all(start.minute == 15 and end - start == timedelta(minutes=45)
               for start, end in now_live)
    assert len(now_live) in (9, 10)

    gone = client.delete(f"/api/maintenance/schedules/{schedule['id']}", headers=headers)
    assert gone.status_code == 200 and gone.get_json()["cancelled_at"]
    assert gone.get_json()["next_starts"] == []
    assert _windows(db.session.get(MaintenanceSchedule, schedule["id"])) == []
    assert plan_occurrences() == 0
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("maintenance.schedule%")).order_by(AuditEvent.id)).all()
    assert actions == ["maintenance.schedule_created", "maintenance.schedule_updated",
                       "maintenance.schedule_cancelled"]
    assert client.patch(f"/api/maintenance/schedules/{schedule['id']}", headers=headers,
                        json={"reason": "x"}).status_code == 409


def test_every_bad_field_is_named_at_once(client):
    headers = login(client, make_user("admin"))
    response = client.post("/api/maintenance/schedules", headers=headers, json={
        "server_id": 1, "label": "env=prod", "reason": "", "kind": "weekly",
        "weekdays": ["MON", "FUNDAY"], "start_time": "25:00", "duration_min": 1})
    assert response.status_code == 400
    assert set(response.get_json()["details"]) == {
        "label", "reason", "weekdays.1", "start_time", "duration_min"}, response.get_json()

    bad_cron = client.post("/api/maintenance/schedules", headers=headers, json={
        "label": "env=prod", "reason": "x", "kind": "cron", "cron": "61 2 * * *",
        "duration_min": 30})
    assert bad_cron.status_code == 400
    assert bad_cron.get_json()["details"]["cron"].startswith(
        'the minute (the 1st field, "61") must be 0-59')
    short = client.post("/api/maintenance/schedules", headers=headers, json={
        "label": "env=prod", "reason": "x", "kind": "cron", "cron": "0 2 * *",
        "duration_min": 30})
    assert "needs five fields" in short.get_json()["details"]["cron"]
    overlapping = client.post("/api/maintenance/schedules", headers=headers, json={
        "label": "env=prod", "reason": "x", "kind": "weekly", "weekdays": ["MON", "TUE"],
        "start_time": "02:00", "duration_min": 25 * 60})
    assert "must end before the next begins" in overlapping.get_json()["details"]["duration_min"]
    nobody = client.post("/api/maintenance/schedules", headers=headers, json={
        "server_id": 999, "reason": "x", "kind": "cron", "cron": "0 2 * * *",
        "duration_min": 30})
    assert nobody.status_code == 400 and "server_id" in nobody.get_json()["details"]


def test_viewers_read_schedules_and_may_not_change_them(client):
    headers = login(client, make_user("flexipay_support"))
    assert client.get("/api/maintenance/schedules", headers=headers).status_code == 200
    assert client.post("/api/maintenance/schedules", headers=headers, json={}).status_code == 403
    assert client.delete("/api/maintenance/schedules/1", headers=headers).status_code == 403


def test_an_open_incident_is_marked_when_its_server_enters_maintenance(client):
    server = make_server("cbs-db")
    other = make_server("other")
    incident = make_incident(server, utcnow() - timedelta(minutes=30))
    untouched = make_incident(other, utcnow() - timedelta(minutes=30))
    began = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=1)
    _schedule(server, began - timedelta(hours=1), kind="cron", weekdays=None, start_time=None,
              cron=f"{began.minute} * * * *", duration_min=30)  # began a minute ago
    assert plan_occurrences() == 26  # the one in force, the day's 24, and the one after
    mark_maintenance()
    db.session.expire_all()
    window = db.session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.starts_at == began)).one()
    marked = db.session.get(Incident, incident.id)
    assert marked.maintenance_window_id == window.id and marked.maintenance_since == began
    assert window.began_at is not None
    assert db.session.get(Incident, untouched.id).maintenance_since is None

    headers = login(client, make_user("it_staff"))
    shown = client.get(f"/api/incidents/{incident.id}", headers=headers).get_json()
    assert shown["maintenance_since"] == began.isoformat()
    assert shown["maintenance_window_id"] == window.id

    # The work is over early: the occurrence alone is cancelled, and the mark goes with it.
    assert client.delete(f"/api/maintenance/{window.id}", headers=headers).status_code == 200
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).maintenance_since is None
    assert plan_occurrences() == 0


def test_the_alerts_page_says_since_when_a_server_is_in_maintenance(client):
    sign_in(client)
    server = make_server("cbs-db")
    incident = make_incident(server, utcnow() - timedelta(minutes=30))
    headers = login(client, make_user("it_staff"))
    now = utcnow()
    response = client.post("/api/maintenance", headers=headers, json={
        "server_id": server.id, "starts_at": (now - timedelta(minutes=2)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(), "reason": "disk swap"})
    assert response.status_code == 201
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).maintenance_window_id == response.get_json()["id"]
    html = client.get("/alerts").get_data(as_text=True)
    row = html.split(f'data-incident-id="{incident.id}"', 1)[1].split("</tr>", 1)[0]
    local = (now - timedelta(minutes=2)).astimezone(ZoneInfo("Africa/Kampala")).strftime("%H:%M")
    assert 'data-testid="maintenance-since"' in row and "In maintenance since" in row
    assert local in row


@pytest.fixture
def am_url(tmp_path):
    config = tmp_path / "alertmanager.yml"
    config.write_text("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
    with alertmanager(config, tmp_path) as url:
        yield url


@pytest.fixture
def am_client(migrated, am_url):
    with fresh_app(make_config(migrated, ALERTMANAGER_URL=am_url)) as app:
        yield app.test_client()


def _silence(am_url: str, silence_id: str) -> dict:
    [silence] = [s for s in requests.get(f"{am_url}/api/v2/silences", timeout=5).json()
                 if s["id"] == silence_id]
    return silence


@pytest.mark.e2e
def test_each_occurrence_is_silenced_ahead_of_time_in_alertmanager(am_client, am_url):
    server = make_server()
    headers = login(am_client, make_user("it_staff"))
    response = am_client.post("/api/maintenance/schedules", headers=headers, json={
        "server_id": server.id, "reason": "nightly backup", "kind": "weekly",
        "weekdays": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"],
        "start_time": "03:00", "duration_min": 90})
    assert response.status_code == 201, response.get_json()
    schedule = db.session.get(MaintenanceSchedule, response.get_json()["id"])
    windows = db.session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.schedule_id == schedule.id).order_by(MaintenanceWindow.starts_at)).all()
    assert len(windows) == 2  # the one within the day, and the next
    for window in windows:
        silence = _silence(am_url, window.silence_id)
        assert silence["status"]["state"] == "pending"  # made ahead of time
        assert silence["matchers"][0]["value"] == str(server.id)
        assert datetime.fromisoformat(silence["startsAt"]) == window.starts_at
        assert datetime.fromisoformat(silence["endsAt"]) == window.ends_at

    # The worker's pass: an occurrence planned later (the day moved on) is silenced by the
    # existing sync, which runs after the planning.
    later = windows[-1].starts_at - timedelta(hours=1)
    assert plan_occurrences(now=later) == 1
    sync_silences()
    db.session.expire_all()
    newest = db.session.scalars(select(MaintenanceWindow).where(
        MaintenanceWindow.schedule_id == schedule.id)
        .order_by(MaintenanceWindow.starts_at.desc())).first()
    assert newest.silence_id and _silence(am_url, newest.silence_id)["status"]["state"] == \
        "pending"

    silences = [window.silence_id for window in [*windows, newest]]
    assert am_client.delete(f"/api/maintenance/schedules/{schedule.id}",
                            headers=headers).status_code == 200
    for silence_id in silences:
        assert _silence(am_url, silence_id)["status"]["state"] == "expired"
