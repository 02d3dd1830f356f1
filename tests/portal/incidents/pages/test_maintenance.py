"""The Maintenance page: planning, listing and cancelling windows, and who may."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.models import MaintenanceWindow
from tests.factories import make_server
from tests.support.pages import post_form, sign_in


def _local(moment: datetime) -> str:
    """A datetime-local value in Africa/Kampala (UTC+3, no daylight saving)."""
    return (moment + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")


def _window_form(server=None, **overrides):
    start = utcnow() + timedelta(hours=1)
    data = {"scope": "server", "server_id": str(server.id) if server else "", "label": "",
            "starts_at": _local(start), "ends_at": _local(start + timedelta(hours=2)),
            "reason": "kernel patching"}
    data.update(overrides)
    return data


def _windows() -> int:
    return db.session.scalar(select(func.count(MaintenanceWindow.id)))


def test_viewers_see_windows_but_no_form_and_may_not_create(client):
    sign_in(client, "customer_engagement")
    server = make_server()
    html = client.get("/maintenance").get_data(as_text=True)
    assert 'data-testid="window-form"' not in html
    assert post_form(client, "/maintenance", _window_form(server)).status_code == 403
    assert _windows() == 0


def test_a_window_for_one_server_is_created_in_local_time(client):
    user = sign_in(client, "it_staff")
    server = make_server("core-db")
    response = post_form(client, "/maintenance", _window_form(server, starts_at="2099-03-01T22:00",
                                                                ends_at="2099-03-02T01:30"))
    assert response.status_code == 302
    window = db.session.scalars(select(MaintenanceWindow)).one()
    assert window.server_id == server.id and window.reason == "kernel patching"
    assert window.starts_at == datetime(2099, 3, 1, 19, 0, tzinfo=UTC)
    assert window.ends_at == datetime(2099, 3, 1, 22, 30, tzinfo=UTC)
    assert window.created_by_name == user.username
    html = client.get("/maintenance").get_data(as_text=True)
    row = html.split(f'data-window-id="{window.id}"', 1)[1].split("</tr>", 1)[0]
    assert "core-db" in row and "2099-03-01 22:00" in row and "Scheduled" in row


def test_alertmanager_being_unreachable_shows_as_a_silence_error(client):
    sign_in(client)
    response = post_form(client, "/maintenance", _window_form(make_server()), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Alertmanager has not silenced its alerts yet" in html
    assert 'data-silence-status="error"' in html and 'data-testid="silence-error"' in html
    window = db.session.scalars(select(MaintenanceWindow)).one()
    assert window.silence_error and window.silence_error[:40] in unescape(html)


def test_a_window_for_a_label_applies_to_every_server_with_it(client):
    sign_in(client)
    response = post_form(client, "/maintenance", _window_form(scope="label", label="environment=staging"))
    assert response.status_code == 302
    window = db.session.scalars(select(MaintenanceWindow)).one()
    assert (window.server_id, window.label_key, window.label_value) == (None, "environment", "staging")
    assert "environment=staging" in client.get("/maintenance").get_data(as_text=True)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"server_id": ""}, "server_id", "choose a server"),
    ({"server_id": "999999"}, "server_id", "no such server"),
    ({"scope": "label", "label": "staging"}, "label", "must be key=value"),
    ({"scope": "label", "label": ""}, "label", "enter a label"),
    ({"starts_at": "tomorrow"}, "starts_at", "enter a date and time"),
    ({"ends_at": "2000-01-01T10:00"}, "ends_at", "must be after starts_at"),
    ({"reason": "  "}, "reason", "say what the work is"),
])
def test_bad_input_is_a_field_error_the_form_is_refilled_and_nothing_is_written(
        client, overrides, field, message):
    sign_in(client)
    server = make_server()
    response = post_form(client, "/maintenance", _window_form(server, **overrides))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = re.search(rf'data-field-error="{field}">([^<]*)<', html)
    assert error and message in unescape(error.group(1))
    assert 'data-testid="form-error"' in html
    if field != "reason":
        assert 'value="kernel patching"' in html
    assert _windows() == 0


def test_a_window_ending_in_the_past_is_refused(client):
    sign_in(client)
    past = utcnow() - timedelta(hours=3)
    response = post_form(client, "/maintenance", _window_form(
        make_server(), starts_at=_local(past - timedelta(hours=1)), ends_at=_local(past)))
    assert response.status_code == 400
    assert re.search(r'data-field-error="ends_at">is in the past<', response.get_data(as_text=True))
    assert _windows() == 0


def test_cancelling_a_window_moves_it_to_the_past(client):
    sign_in(client)
    post_form(client, "/maintenance", _window_form(make_server()))
    window = db.session.scalars(select(MaintenanceWindow)).one()
    html = client.get("/maintenance").get_data(as_text=True)
    assert f'data-testid="cancel-window-{window.id}"' in html
    response = post_form(client, f"/maintenance/{window.id}/cancel", follow_redirects=True)
    assert f"Maintenance window #{window.id} cancelled" in response.get_data(as_text=True)
    db.session.refresh(window)
    assert window.cancelled_at is not None
    html = client.get("/maintenance").get_data(as_text=True)
    assert f'data-testid="cancel-window-{window.id}"' not in html and "Cancelled" in html


def test_viewers_may_not_cancel(client):
    sign_in(client, "flexipay_support")
    window = MaintenanceWindow(server_id=make_server().id, reason="r", starts_at=utcnow(),
                               ends_at=utcnow() + timedelta(hours=1))
    db.session.add(window)
    db.session.commit()
    assert "cancel-window" not in client.get("/maintenance").get_data(as_text=True)
    assert post_form(client, f"/maintenance/{window.id}/cancel").status_code == 403
    db.session.refresh(window)
    assert window.cancelled_at is None
