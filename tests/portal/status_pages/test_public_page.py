"""/status/<slug>: what a customer sees, who may see it, and that it costs no query."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.observability import DB_QUERIES
from portal.servers import page_cache
from portal.status_pages.schemas import StatusPageIn
from portal.status_pages.service import create_page
from tests.factories import make_incident, make_server, make_user, record_state
from tests.support.pages import sign_in

ZONE = ZoneInfo("Africa/Kampala")  # the default setting


def _page(components, **fields):
    data = StatusPageIn.model_validate({"name": "FlexiPay status", "slug": "flexipay",
                                        "public": True, "components": components, **fields})
    return create_page(data, make_user("it_staff"))


def _aged(server, days: int):
    server.created_at = utcnow() - timedelta(days=days)
    db.session.commit()
    return server


def _components(html: str) -> dict[str, str]:
    """Display name -> state, as the page marks them."""
    found = re.findall(r'data-testid="component" data-state="(\w+)">.*?<h3[^>]*>([^<]+)</h3>',
                       html, re.S)
    return {name: state for state, name in found}


def test_a_public_page_needs_no_sign_in_and_shows_only_what_was_chosen(client):
    pay = make_server("pay-core-db-01", target="https://10.20.30.40:8443/health",
                      labels={"service": "cards"})
    other = make_server("cards-switch-02", labels={"service": "cards"})
    record_state(pay, "up", utcnow())
    record_state(other, "up", utcnow())
    _page([{"server_id": pay.id, "display_name": "Payments", "display_group": "FlexiPay"},
           {"label": "service=cards", "display_name": "Card services"}],
          note="Card top-ups are delayed <b>today</b>.")
    response = client.get("/status/flexipay")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=10"
    html = response.get_data(as_text=True)
    assert _components(html) == {"Payments": "up", "Card services": "up"}
    assert "All systems operational" in html
    assert "Card top-ups are delayed &lt;b&gt;today&lt;/b&gt;." in html
    for secret in ("pay-core-db-01", "cards-switch-02", "10.20.30.40", "bank.example",
                   "service=cards", "cards\"", f"/servers/{pay.id}", "/dashboard", "data-live",
                   "<script"):
        assert secret not in html, secret
    assert "FlexiPay" in html


def test_show_internal_adds_server_names_and_targets(client):
    server = make_server("pay-core-db-01", target="https://10.20.30.40:8443/health")
    _page([{"server_id": server.id, "display_name": "Payments"}], show_internal=True)
    html = client.get("/status/flexipay").get_data(as_text=True)
    assert "pay-core-db-01" in html and "10.20.30.40" in html


def test_a_label_component_takes_the_worst_of_its_servers(client):
    servers = [make_server(labels={"service": "cards"}) for _ in range(3)]
    alone = make_server()
    for server in [*servers, alone]:
        record_state(server, "up", utcnow())
    record_state(servers[1], "down", utcnow())
    _page([{"label": "service=cards", "display_name": "Cards"},
           {"server_id": alone.id, "display_name": "Web"}])
    html = client.get("/status/flexipay").get_data(as_text=True)
    assert _components(html) == {"Cards": "down", "Web": "up"}
    assert 'data-banner="partial"' in html and "Partial outage" in html


def test_a_member_not_yet_probed_leaves_its_component_operational(client):
    """Seen on a newcomer's page: one label member without results read "Status unknown"
    while the others answered."""
    answering = [make_server(labels={"service": "mobile"}) for _ in range(2)]
    make_server(labels={"service": "mobile"})  # added a moment ago: no probe result yet
    never = make_server()
    for server in answering:
        record_state(server, "up", utcnow())
    _page([{"label": "service=mobile", "display_name": "Mobile banking"},
           {"server_id": never.id, "display_name": "Web"}])
    html = client.get("/status/flexipay").get_data(as_text=True)
    assert _components(html) == {"Mobile banking": "up", "Web": "unknown"}
    assert 'data-banner="operational"' in html


def test_every_component_down_is_a_major_outage(client):
    server = make_server()
    record_state(server, "down", utcnow())
    _page([{"server_id": server.id, "display_name": "Web"}])
    assert 'data-banner="major"' in client.get("/status/flexipay").get_data(as_text=True)


def test_a_staff_only_page_asks_for_sign_in_then_shows_to_viewers(client):
    server = make_server()
    _page([{"server_id": server.id, "display_name": "Web"}], public=False)
    anonymous = client.get("/status/flexipay")
    assert anonymous.status_code == 302
    assert "/login" in anonymous.headers["Location"]
    sign_in(client, "customer_engagement")
    shown = client.get("/status/flexipay")
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    assert "Web" in shown.get_data(as_text=True)


def test_an_unknown_slug_is_404(client):
    assert client.get("/status/no-such-page").status_code == 404
    assert client.get("/status/" + "x" * 300).status_code == 404


def _bar_texts(html: str) -> list[str]:
    listed = re.search(r'<ul class="visually-hidden" aria-label="Web: daily availability, '
                       r'last 90 days">(.*?)</ul>', html, re.S).group(1)
    return re.findall(r"<li>([^<]+)</li>", listed)


def test_daily_bars_come_from_the_downtime_history(client):
    server = _aged(make_server(), 5)
    today = utcnow().astimezone(ZONE).date()
    yesterday = today - timedelta(days=1)
    start = datetime(yesterday.year, yesterday.month, yesterday.day, 10, tzinfo=ZONE)
    make_incident(server, start, start + timedelta(minutes=144))  # a tenth of the day
    _page([{"server_id": server.id, "display_name": "Web"}])
    html = client.get("/status/flexipay").get_data(as_text=True)
    bars = re.search(r'<div class="status-bars" aria-hidden="true">(.*?)</div>', html).group(1)
    assert re.findall(r'<i class="(\w+)"></i>', bars) == ["none"] * 84 + ["good"] * 4 + ["bad", "good"]
    day = "{:%Y-%m-%d}".format
    # Before the server existed there is no figure, not 100 %; each day is told in words.
    assert _bar_texts(html) == [
        f"{day(today - timedelta(days=89))} to {day(today - timedelta(days=6))}: no data",
        f"{day(today - timedelta(days=5))} to {day(today - timedelta(days=2))}: 100 % available",
        f"{day(yesterday)}: 90.00 % available, 144 min down",
        f"{day(today)}: 100 % available",
    ]


def test_a_warm_public_page_costs_no_database_query(client, app):
    servers = [make_server(labels={"service": "cards"}) for _ in range(5)]
    for server in servers:
        record_state(server, "up", utcnow())
    _page([{"server_id": servers[0].id, "display_name": "Web"},
           {"label": "service=cards", "display_name": "Cards"}])
    assert client.get("/status/flexipay").status_code == 200  # warms the cache
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = db.engine
    counted = DB_QUERIES.labels("/status/<slug>")  # what /metrics says, for the benchmark
    event.listen(engine, "before_cursor_execute", count)
    try:
        before = counted._value.get()
        for _ in range(50):
            response = client.get("/status/flexipay")
            assert response.status_code == 200
        assert statements == []
        assert counted._value.get() == before
        page_cache.bump()  # the registry changed: the next visitor recomputes, and is counted
        assert client.get("/status/flexipay").status_code == 200
        assert statements
        assert counted._value.get() - before == len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("path", ["/status-pages", "/status-pages/new"])
def test_management_pages_need_sign_in(client, path):
    assert client.get(path).status_code == 302


def test_built_in_labels_select_too_and_a_deleted_server_leaves_its_page(client):
    from portal.servers.service import delete_server

    prod = make_server(environment="production")
    staging = make_server(environment="staging")
    record_state(prod, "up", utcnow())
    record_state(staging, "down", utcnow())
    _page([{"label": "environment=production", "display_name": "Production"},
           {"server_id": staging.id, "display_name": "Staging"}])
    html = client.get("/status/flexipay").get_data(as_text=True)
    assert _components(html) == {"Production": "up", "Staging": "down"}
    delete_server(staging)
    html = client.get("/status/flexipay").get_data(as_text=True)
    assert _components(html) == {"Production": "up"}
