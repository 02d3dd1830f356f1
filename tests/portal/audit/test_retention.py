"""Retention: the worker's pass deletes rows past ``audit_retention_days`` (a day late at
most), records that it did, and leaves a trail that still verifies; the setting is checked."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.audit.service import verify
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.jobs.periodic import PERIODIC, purge_audit_trail
from portal.settings.service import load_settings, update_settings
from tests.factories import login, make_user
from tests.portal.audit.dated import add_event
from tests.support.pages import post_form, sign_in


def actions() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_worker_purges_rows_past_the_retention_and_the_trail_still_verifies(app):
    now = utcnow()
    add_event("test.ancient", at=now - timedelta(days=500))
    add_event("test.old", at=now - timedelta(days=402))
    add_event("test.recent", at=now - timedelta(days=10))
    add_event("test.today")
    assert purge_audit_trail in PERIODIC
    purge_audit_trail()
    assert actions() == ["test.recent", "test.today", "audit.purged"]
    purged = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.purged")).one()
    assert purged.actor_kind == "system"
    assert purged.detail["rows"] == 2 and purged.detail["retention_days"] == 400
    verdict = verify()
    assert verdict.ok, verdict.problem
    assert verdict.rows == 3


def test_the_retention_comes_from_the_settings(app):
    now = utcnow()
    add_event("test.old", at=now - timedelta(days=45))
    add_event("test.recent", at=now - timedelta(days=20))
    purge_audit_trail()
    assert actions() == ["test.old", "test.recent"]  # within the default 400 days
    update_settings({"audit_retention_days": 30}, None)
    purge_audit_trail()
    assert actions()[:1] == ["test.recent"] and actions()[-1] == "audit.purged"
    assert verify().ok


def test_rows_less_than_a_day_past_the_retention_wait_for_the_next_days_purge(app):
    """So the worker, asking every 15 s, purges (and records a purge) once a day rather than
    at every pass for the few rows that aged meanwhile."""
    now = utcnow()
    add_event("test.old", at=now - timedelta(days=400, hours=20))
    add_event("test.recent")
    purge_audit_trail()
    purge_audit_trail()
    assert actions() == ["test.old", "test.recent"]


def test_an_empty_trail_is_left_alone(app):
    purge_audit_trail()
    assert actions() == []


@pytest.mark.parametrize("days", [29, 3651, "soon"])
def test_the_setting_is_between_30_and_3650_days(client, days):
    headers = login(client, make_user("admin"))
    assert client.get("/api/settings", headers=headers).get_json()["audit_retention_days"] == 400
    response = client.put("/api/settings", json={"audit_retention_days": days}, headers=headers)
    assert response.status_code == 400
    assert "audit_retention_days" in response.get_json()["details"], response.get_json()
    assert load_settings().audit_retention_days == 400


def test_the_settings_page_edits_it_and_names_a_bad_value(client):
    sign_in(client)
    page = client.get("/settings").get_data(as_text=True)
    assert 'name="audit_retention_days"' in page and 'value="400"' in page
    form = {**load_settings().model_dump(exclude={"grafana_url"}), "audit_retention_days": "29"}
    form = {key: ("on" if value is True else value) for key, value in form.items()
            if value is not False}
    response = post_form(client, "/settings", form)
    assert response.status_code == 400
    assert 'data-field-error="audit_retention_days"' in response.get_data(as_text=True)
    assert post_form(client, "/settings", {**form, "audit_retention_days": "90"}).status_code == 302
    assert load_settings().audit_retention_days == 90
