"""The Maintenance page's recurring schedules: the form, the list, cancelling, and who may."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import MaintenanceSchedule, MaintenanceWindow
from tests.factories import make_server
from tests.support.pages import post_form, sign_in


def _form(server=None, **overrides) -> dict:
    data = {"s_scope": "server", "s_server_id": str(server.id) if server else "",
            "s_label": "", "kind": "weekly", "weekdays": ["MON", "THU"], "start_time": "02:30",
            "cron": "", "duration_min": "90", "s_reason": "patching"}
    data.update(overrides)
    return data


def _schedules() -> int:
    return db.session.scalar(select(func.count(MaintenanceSchedule.id)))


def test_a_weekly_schedule_is_saved_listed_and_planned_in_local_time(client):
    user = sign_in(client, "it_staff")
    server = make_server("core-db")
    response = post_form(client, "/maintenance/schedules", _form(server))
    assert response.status_code == 302, response.get_data(as_text=True)
    schedule = db.session.scalars(select(MaintenanceSchedule)).one()
    assert (schedule.kind, schedule.weekdays, schedule.start_time) == ("weekly", "MON,THU", "02:30")
    assert schedule.created_by_name == user.username
    windows = db.session.scalars(select(MaintenanceWindow).order_by(
        MaintenanceWindow.starts_at)).all()
    assert windows and all(w.schedule_id == schedule.id for w in windows)
    kampala = ZoneInfo("Africa/Kampala")
    first = windows[0].starts_at.astimezone(kampala)
    assert first.strftime("%a %H:%M") in ("Mon 02:30", "Thu 02:30")
    assert windows[0].ends_at - windows[0].starts_at == timedelta(minutes=90)

    html = client.get("/maintenance").get_data(as_text=True)
    row = html.split(f'data-schedule-id="{schedule.id}"', 1)[1].split("</tr>", 1)[0]
    assert "core-db" in row and "Mon, Thu at 02:30" in row and "90 min" in row
    assert first.strftime("%a %Y-%m-%d 02:30") in row
    assert "read in Africa/Kampala" in html
    # The occurrence is an ordinary window in the list of those coming.
    assert f'data-window-id="{windows[0].id}"' in html


def test_every_bad_field_is_marked_and_nothing_is_saved(client):
    sign_in(client, "admin")
    response = post_form(client, "/maintenance/schedules", _form(
        None, weekdays=[], start_time="", duration_min="soon", s_reason=""))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field in ("s_server_id", "weekdays", "start_time", "duration_min", "s_reason"):
        assert f'data-field-error="{field}"' in html, field
    assert _schedules() == 0

    cron = post_form(client, "/maintenance/schedules", _form(
        make_server(), kind="cron", cron="0 25 * * *"))
    assert cron.status_code == 400
    assert 'data-field-error="cron"' in cron.get_data(as_text=True)
    assert "the hour (the 2nd field, &#34;25&#34;) must be 0-23" in cron.get_data(as_text=True)
    assert _schedules() == 0


def test_a_cron_schedule_for_a_label_and_cancelling_it(client):
    sign_in(client, "admin")
    make_server("staging-1", environment="staging")
    response = post_form(client, "/maintenance/schedules", _form(
        None, s_scope="label", s_label="environment=staging", kind="cron",
        cron="0 */6 * * *", duration_min="30"))
    assert response.status_code == 302
    schedule = db.session.scalars(select(MaintenanceSchedule)).one()
    assert schedule.label_key == "environment" and schedule.cron == "0 */6 * * *"
    live = db.session.scalar(select(func.count(MaintenanceWindow.id)).where(
        MaintenanceWindow.cancelled_at.is_(None)))
    assert live == 5  # four in the day, and the one after

    response = post_form(client, f"/maintenance/schedules/{schedule.id}/cancel")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(MaintenanceSchedule, schedule.id).cancelled_at is not None
    assert db.session.scalar(select(func.count(MaintenanceWindow.id)).where(
        MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.starts_at > utcnow())) == 0
    html = client.get("/maintenance").get_data(as_text=True)
    row = html.split(f'data-schedule-id="{schedule.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Cancelled" in row and "cancel-schedule" not in row


def test_viewers_see_schedules_but_no_form_and_may_not_create(client):
    sign_in(client, "customer_engagement")
    server = make_server()
    html = client.get("/maintenance").get_data(as_text=True)
    assert 'data-testid="schedule-form"' not in html and "No recurring maintenance" in html
    assert post_form(client, "/maintenance/schedules", _form(server)).status_code == 403
    assert _schedules() == 0
