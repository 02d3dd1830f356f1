"""The runbooks at /runbooks/<Alert>: rendered from docs/runbooks, raw HTML escaped, only
the files present reachable, for signed-in staff who see alerts."""

import pytest

from portal.incidents import runbooks
from portal.rbac import ROLES
from tests.support.pages import sign_in


@pytest.fixture
def library(tmp_path, monkeypatch):
    """A runbook directory of the test's own, beside a file that must stay unreachable."""
    (tmp_path / "secret.md").write_text("# not a runbook\n")
    books = tmp_path / "runbooks"
    books.mkdir()
    (books / "DiskFull.md").write_text(
        "# DiskFull\n\nA disk is <b>nearly</b> full.\n\n## Check\n\n"
        "<script>alert('x')</script>\n\n`df -h` and [a bad link](javascript:alert(1)).\n")
    monkeypatch.setattr(runbooks, "RUNBOOKS_DIR", books)
    return books


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/runbooks", "/runbooks/ServerDown"):
        response = client.get(path)
        assert response.status_code == 302 and f"/login?next={path}" in response.location


def test_the_pages_require_the_alerts_permission(app):
    views = app.view_functions
    assert views["incident_pages.runbook"].required_permission == "alerts.view"
    assert views["incident_pages.runbook_list"].required_permission == "alerts.view"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_a_committed_runbook(client, role):
    sign_in(client, role)
    html = client.get("/runbooks/ServerDown").get_data(as_text=True)
    assert '<h1>ServerDown</h1>' in html and "<h2>Escalate</h2>" in html
    assert 'href="/alerts?alertname=ServerDown"' in html


def test_the_list_names_every_runbook_with_what_it_means(client):
    sign_in(client)
    html = client.get("/runbooks").get_data(as_text=True)
    for book in runbooks.runbooks():
        assert f'href="/runbooks/{book.alert}"' in html
    assert "A registered server failed its probe" in html


def test_raw_html_in_a_runbook_is_shown_as_text_and_bad_links_are_not_links(client, library):
    sign_in(client)
    response = client.get("/runbooks/DiskFull")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<code>df -h</code>" in html
    assert "<script>alert(" not in html and "&lt;script&gt;alert(" in html
    assert "<b>nearly</b>" not in html and "&lt;b&gt;nearly&lt;/b&gt;" in html
    assert 'href="javascript:' not in html


def test_an_unknown_alert_is_a_clear_404_listing_the_runbooks(client, library):
    sign_in(client)
    response = client.get("/runbooks/NoSuchAlert")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "There is no runbook for <strong>NoSuchAlert</strong>" in html
    assert 'href="/runbooks/DiskFull"' in html


@pytest.mark.parametrize("path", [
    "/runbooks/..%2Fsecret", "/runbooks/../secret", "/runbooks/%2e%2e%2fsecret",
    "/runbooks/DiskFull.md", "/runbooks/secret", "/runbooks/<script>",
])
def test_nothing_but_the_runbooks_present_can_be_reached(client, library, path):
    sign_in(client)
    response = client.get(path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "not a runbook" not in html and "<script>" not in html
