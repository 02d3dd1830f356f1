"""Dependencies: a server behind a down parent has its outage recorded, not paged, and the
parent's page names its dependants, whichever Alertmanager reports first. Links are
checked when saved: no self, no missing server, no cycle."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.incidents.dependants import release_held_pages
from portal.notify.models import Notification, UserNotification
from tests.factories import login, make_server, make_user
from tests.portal.incidents.conftest import paging_app
from tests.portal.incidents.test_webhook import T0, alert, incidents, payload, post, probe_change
from tests.support.pages import post_form, sign_in

S = timedelta(seconds=1)


@pytest.fixture
def app(migrated):
    yield from paging_app(migrated)


def pages(server=None) -> list[tuple[str, str]]:
    """(state, channel) of the outbox rows, for one server's incidents or all."""
    db.session.expire_all()
    rows = db.session.scalars(db.select(Notification).order_by(Notification.id)).all()
    return [(row.state, row.channel) for row in rows
            if server is None or db.session.get(type(incidents()[0]), row.incident_id)
            .server_id == server.id]


def switch_and_hosts(count=2):
    switch = make_server("core-switch", kind="icmp")
    hosts = [make_server(f"cbs-app-{n:02d}", depends_on_id=switch.id) for n in range(count)]
    return switch, hosts


def test_a_dependant_of_a_down_parent_is_recorded_not_paged(client, app, on_call):
    switch, [host, _other] = switch_and_hosts()
    probe_change(app, switch, "down", T0)
    post(client, payload(alert(switch, starts=T0 + 2 * S)))
    probe_change(app, host, "down", T0 + S)
    post(client, payload(alert(host, starts=T0 + 3 * S)))
    _parent, child = incidents()
    assert child.server_id == host.id and child.is_open and child.suppressed_by == "core-switch"
    assert pages(host) == [] and sorted(pages(switch)) == [("firing", "email"), ("firing", "sms")]
    # The bell still has it, and the history: it ends like any other, still unpaged.
    assert db.session.scalar(db.select(UserNotification).where(
        UserNotification.incident_id == child.id)) is not None
    sign_in(client, "it_staff")
    html = client.get("/alerts").get_data(as_text=True)
    row = html.split(f'data-incident-id="{child.id}"', 1)[1].split("</tr>", 1)[0]
    assert "Not paged: depends on core-switch, which was down" in row
    probe_change(app, host, "up", T0 + 60 * S)
    post(client, payload(alert(host, "resolved", starts=T0 + 3 * S, ends=T0 + 61 * S)))
    assert pages(host) == [] and not incidents()[1].is_open


def test_the_parents_page_names_its_dependants(client, app, on_call):
    switch, hosts = switch_and_hosts(5)
    for host in hosts[:2]:
        probe_change(app, host, "down", T0)
    probe_change(app, switch, "down", T0 + S)
    post(client, payload(alert(switch, starts=T0 + 2 * S)))
    [mail] = db.session.scalars(db.select(Notification).where(Notification.channel == "email"))
    assert ("5 servers depend on it (cbs-app-00, cbs-app-01, cbs-app-02 and 2 more); 2 of them "
            "unreachable now. Their outages are recorded, not paged, while it is down.") in mail.body
    [sms] = db.session.scalars(db.select(Notification).where(Notification.channel == "sms"))
    assert "+5 dependants" in sms.body and len(sms.body) <= 160


def test_a_dependant_first_waits_for_its_parent_then_is_not_paged(client, app, on_call):
    """Alertmanager told of the host before the switch: the host's pages wait, and once the
    switch is known down they are never sent."""
    switch, [host, _other] = switch_and_hosts()
    probe_change(app, host, "down", T0)
    post(client, payload(alert(host, starts=T0 + 2 * S)))
    [child] = incidents()
    assert child.pages_held_until > utcnow() + 30 * S  # the switch's 30 s interval, and more
    assert pages() == []
    probe_change(app, switch, "down", T0 + 4 * S)
    post(client, payload(alert(switch, starts=T0 + 6 * S)))
    planned = release_held_pages(now=utcnow() + timedelta(minutes=2))
    db.session.commit()
    assert planned == []
    child = incidents()[0]
    assert child.suppressed_by == "core-switch" and child.pages_held_until is None
    assert pages(host) == []


def test_a_dependant_down_on_its_own_is_paged_once_its_hold_ends(client, app, on_call):
    switch, [host, _other] = switch_and_hosts()
    probe_change(app, switch, "up", T0 - 60 * S)
    probe_change(app, host, "down", T0)
    post(client, payload(alert(host, starts=T0 + 2 * S)))
    assert release_held_pages(now=utcnow()) == []  # not yet
    planned = release_held_pages(now=utcnow() + timedelta(minutes=2))
    db.session.commit()
    assert sorted(pages(host)) == [("firing", "email"), ("firing", "sms")] and planned
    assert incidents()[0].suppressed_by is None


def test_a_dependant_outage_over_before_its_hold_ends_pages_both_ends(client, app, on_call):
    _switch, [host, _other] = switch_and_hosts()
    probe_change(app, host, "down", T0)
    post(client, payload(alert(host, starts=T0 + 2 * S)))
    probe_change(app, host, "up", T0 + 20 * S)
    post(client, payload(alert(host, "resolved", starts=T0 + 2 * S, ends=T0 + 21 * S)))
    assert sorted(pages(host)) == [("firing", "email"), ("firing", "sms"),
                                   ("resolved", "email"), ("resolved", "sms")]


@pytest.mark.parametrize(("link", "message"), [
    ("self", "a server cannot depend on itself"),
    ("missing", "no server with id 999999"),
    ("cycle", "would make a cycle (core-switch -> cbs-app-00 -> core-switch)"),
])
def test_a_bad_dependency_is_a_400_naming_the_field(client, app, link, message):
    switch, [host, _other] = switch_and_hosts()
    headers = login(client, make_user("admin"))
    target, parent = {"self": (host, host.id), "missing": (host, 999999),
                      "cycle": (switch, host.id)}[link]
    response = client.patch(f"/api/servers/{target.id}", headers=headers,
                            json={"depends_on_id": parent})
    assert response.status_code == 400
    assert response.get_json()["details"] == {"depends_on_id": message}


def test_the_api_sets_and_clears_a_dependency(client, app):
    switch, [host, _other] = switch_and_hosts()
    headers = login(client, make_user("admin"))
    assert client.get(f"/api/servers/{host.id}", headers=headers).get_json()[
        "depends_on_id"] == switch.id
    response = client.patch(f"/api/servers/{host.id}", headers=headers, json={"depends_on_id": None})
    assert response.status_code == 200 and response.get_json()["depends_on_id"] is None


def test_the_form_sets_a_dependency_and_the_server_page_shows_both_ends(client, app):
    switch, [host, other] = switch_and_hosts()
    gateway = make_server("site-gw", kind="icmp")
    sign_in(client, "it_staff")
    form = client.get(f"/servers/{switch.id}/edit").get_data(as_text=True)
    assert 'name="depends_on_id"' in form
    choices = form.split('name="depends_on_id"', 1)[1].split("</select>", 1)[0]
    assert f'value="{gateway.id}"' in choices and f'value="{switch.id}"' not in choices
    response = post_form(client, f"/servers/{switch.id}/edit", {
        "name": "core-switch", "kind": "icmp", "target": "core-switch.bank.example",
        "interval_s": "30", "timeout_s": "10", "down_after": "2", "enabled": "on",
        "http_method": "GET", "http_accepted_statuses": "200-399",
        "http_keyword_mode": "contains", "dns_record_type": "A",
        "depends_on_id": str(gateway.id)})
    assert response.status_code == 302, response.get_data(as_text=True)
    html = client.get(f"/servers/{host.id}").get_data(as_text=True)
    chain = html.split('data-testid="depends-on"', 1)[1].split("</dd>", 1)[0]
    assert "core-switch" in chain and "site-gw" in chain
    html = client.get(f"/servers/{gateway.id}").get_data(as_text=True)
    listed = html.split('data-testid="dependants"', 1)[1].split("</dd>", 1)[0]
    assert "3:" in listed and all(name in listed for name in ("core-switch", host.name, other.name))
