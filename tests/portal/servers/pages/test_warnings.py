"""Warning badges: a server's open warnings (incidents of severity "warning") on its tile,
its fleet cell and its page, counted and named, linking to the Alerts page showing them;
read in one query for a whole page of servers."""

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import event

from portal.extensions import db
from tests.factories import make_incident, make_server
from tests.support.pages import sign_in

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def warned(client):
    """db-1 with two open warnings (one resolved, one critical beside them), db-2 with none."""
    sign_in(client, "customer_engagement")
    server = make_server("db-1")
    quiet = make_server("db-2")
    make_incident(server, T0, name="DiskFilling", severity="warning",
                  summary="<b>disk</b> /var 93 % full")
    make_incident(server, T0 + timedelta(minutes=1), name="MemoryHigh", severity="warning")
    make_incident(server, T0 - timedelta(days=1), T0 - timedelta(hours=20),
                  name="CpuBusy", severity="warning")  # resolved
    make_incident(server, T0, name="ServerDown")  # critical: not a warning
    make_incident(quiet, T0, T0 + timedelta(minutes=5), name="DiskFilling", severity="warning")
    return server, quiet


def _holder(html: str, server) -> str:
    """The server's badge holder: its attributes and, when it has one, the badge link."""
    rest = html.split(f'data-warnings="{server.id}"', 1)[1]
    end = rest.index("</span>")
    return rest[:rest.index("</a>")] if "<a " in rest[:end] else rest[:end]


def _badge(html: str, server) -> dict:
    holder = _holder(html, server)
    link = re.search(r'<a class="badge[^"]*" data-warning-badge href="([^"]+)"\s+title="([^"]*)"',
                     holder)
    count = re.search(r"data-warning-count>(\d+)<", holder)
    listed = re.match(r' data-warning-list="([^"]*)"', holder)
    return {"href": unescape(link.group(1)) if link else None,
            "title": unescape(link.group(2)) if link else None,
            "count": int(count.group(1)) if count else 0,
            "list": json.loads(unescape(listed.group(1)))}


def _check(html: str, server, quiet) -> None:
    badge = _badge(html, server)
    assert badge["count"] == 2
    assert badge["href"] == f"/alerts?severity=warning&state=open&server={server.id}"
    assert badge["title"] == ("2 open warnings: DiskFilling: <b>disk</b> /var 93 % full; "
                              "MemoryHigh")
    assert [item["text"] for item in badge["list"]] == ["DiskFilling: <b>disk</b> /var 93 % full",
                                                        "MemoryHigh"]
    assert "<b>disk</b>" not in html  # the summary is text, never markup
    assert _badge(html, quiet) == {"href": None, "title": None, "count": 0, "list": []}


def test_a_tile_shows_its_servers_open_warnings(client, warned):
    server, quiet = warned
    html = client.get("/dashboard?view=tiles").get_data(as_text=True)
    _check(html, server, quiet)
    assert "data-warning-badge-template" in html


def test_a_fleet_cell_shows_them_too(client, warned):
    server, quiet = warned
    html = client.get("/dashboard?view=fleet").get_data(as_text=True)
    _check(html, server, quiet)
    assert "fleet-extras-shown" in html
    cell = html.split(f'data-fleet-id="{server.id}"', 1)[1].split("</li>", 1)[0]
    assert 'data-warnings="' in cell


def test_the_server_page_shows_them_in_its_heading(client, warned):
    server, quiet = warned
    html = client.get(f"/servers/{server.id}").get_data(as_text=True)
    heading = html.split("<h1", 1)[1].split("</h1>", 1)[0]
    assert f'data-warnings="{server.id}"' in heading
    badge = _badge(html, server)
    assert badge["count"] == 2 and badge["title"].startswith("2 open warnings: DiskFilling")
    quiet_page = client.get(f"/servers/{quiet.id}").get_data(as_text=True)
    assert _badge(quiet_page, quiet)["count"] == 0


def test_the_badge_links_to_the_alerts_page_showing_those_warnings(client, warned):
    server, _quiet = warned
    href = _badge(client.get("/dashboard").get_data(as_text=True), server)["href"]
    html = client.get(href).get_data(as_text=True)
    open_list = html.split('aria-labelledby="open-heading"', 1)[1].split("</section>", 1)[0]
    assert re.search(r"data-testid=\"open-count\"[^>]*>2<", open_list)
    assert "DiskFilling" in open_list and "MemoryHigh" in open_list
    assert "ServerDown" not in open_list
    assert 'aria-labelledby="past-heading"' not in html  # open ones only: not CpuBusy


def test_a_single_warning_says_so_in_the_singular(client):
    sign_in(client)
    server = make_server("db-1")
    make_incident(server, T0, name="CertExpiringSoon", severity="warning", summary="12 days left")
    badge = _badge(client.get("/dashboard").get_data(as_text=True), server)
    assert badge["count"] == 1 and badge["title"] == "1 open warning: CertExpiringSoon: 12 days left"


def test_a_page_of_servers_reads_its_warnings_in_one_query(client, app):
    sign_in(client)
    servers = [make_server(f"node-{n:02d}") for n in range(30)]
    for server in servers[::3]:
        make_incident(server, T0, name="DiskFilling", severity="warning")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if "incidents" in statement and "severity" in statement:
            statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        html = client.get("/dashboard?view=fleet").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert html.count("data-warning-badge ") == 10 + 1  # and the page's template
    assert len(statements) == 1, statements
