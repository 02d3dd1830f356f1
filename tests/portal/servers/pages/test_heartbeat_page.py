"""A heartbeat server's page: its schedule and deadline, the ping URL for managers only,
a new URL through the page's form, and its last runs, escaped; its schedule on tiles and
in the list where a probed server shows its target."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.servers.ping_keys import ping_key
from portal.settings.service import update_settings
from tests.factories import make_server
from tests.support.pages import post_form, sign_in


@pytest.fixture
def job(app):
    return make_server("eod-batch", kind="heartbeat", heartbeat_period_s=3600,
                       heartbeat_grace_s=600)


def _section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"', 1)[1].split("</section>", 1)[0]


def _page(client, server) -> str:
    response = client.get(f"/servers/{server.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_manager_sees_the_schedule_the_url_and_examples(client, job):
    sign_in(client, "it_staff")
    key = ping_key(job)
    html = unescape(_page(client, job))
    card = _section(html, "heartbeat")
    assert "every 1 h" in card and "10 min after each expected ping" in card
    assert "Last ping</dt>" in card and "never" in card
    url = f"{client.application.config['SERVERMON'].portal_url}/ping/{key}"
    assert f'data-field="ping-url">{url}</code>' in html
    curl = "curl -fsS -m 10 --retry 5 -o /dev/null"
    assert f"0 * * * * /opt/jobs/job.sh && {curl} {url}" in html
    assert f"{curl} {url}/start; /opt/jobs/job.sh; {curl} {url}/$?" in html
    assert f"/opt/jobs/job.sh || {curl} {url}/fail" in html
    assert f"wget -q -T 10 -t 5 -O /dev/null {url}" in html
    assert f"Invoke-RestMethod {url}\n" in html and f'"{url}/$LASTEXITCODE"' in html
    # Probe-only things a job does not have
    assert 'id="probe-heading"' not in html and 'data-chart="latency"' not in html
    assert 'data-field="cert-expiry"' not in html and 'data-field="latency"' not in html
    assert 'data-chart="status"' in html


def test_a_cron_schedule_is_shown_in_the_zone_it_is_read_in(client, app):
    update_settings({"timezone": "Africa/Kampala"}, None)
    server = make_server("eod-cron", kind="heartbeat", heartbeat_cron="30 23 * * *",
                         heartbeat_period_s=None)
    sign_in(client, "customer_engagement")
    card = _section(_page(client, server), "heartbeat")
    assert "cron 30 23 * * * in Africa/Kampala" in card
    # the next 23:30 in Kampala (EAT) plus the default five minutes' grace
    assert re.search(r"\d{4}-\d\d-\d\d 23:35:00 EAT</time> \(in ", card), card


def test_a_deadline_minutes_away_is_counted_to_the_second(client):
    """"in 2 min" said the same of 2 min 59 s as of 2 min: staff watching a job that is
    about to be late need the seconds."""
    job = make_server("recon-batch", kind="heartbeat", heartbeat_period_s=60,
                      heartbeat_grace_s=90)
    assert client.get(f"/ping/{ping_key(job)}").status_code == 200
    sign_in(client, "it_staff")
    card = _section(_page(client, job), "heartbeat")
    assert re.search(r'data-field="deadline"><time [^>]+>[^<]+</time> \(in 2 min (30|29) s\)',
                     card), card


def test_a_viewer_sees_the_schedule_but_no_key_and_no_runs(client, job):
    client.get(f"/ping/{ping_key(job)}")
    sign_in(client, "customer_engagement")
    html = _page(client, job)
    assert "every 1 h" in _section(html, "heartbeat")
    assert ping_key(job) not in html and job.ping_key_hash not in html
    assert "/ping/" not in html and 'data-testid="ping-url"' not in html
    assert 'data-testid="last-runs"' not in html  # bodies and addresses need logs.view
    assert client.post(f"/servers/{job.id}/ping-key").status_code == 403


def test_the_deadline_follows_the_last_success_and_a_failure_replaces_it(client, job):
    sign_in(client, "it_staff")
    key = ping_key(job)
    assert client.get(f"/ping/{key}").status_code == 200
    db.session.expire_all()
    card = _section(_page(client, job), "heartbeat")
    assert ", success" in card
    # an hour and ten minutes from the ping, less the time the page took (a slow machine
    # may take more than the half second that rounds to "1 h 10 min")
    assert re.search(r'data-field="deadline"><time [^>]+>[^<]+</time> \(in 1 h (10|9) min\)',
                     card), card
    assert client.get(f"/ping/{key}/3").status_code == 200
    card = _section(_page(client, job), "heartbeat")
    assert "none: run failed with exit code 3; the next success mends it" in card


def test_a_job_past_its_deadline_is_shown_late(client, job):
    job.heartbeat_since = job.heartbeat_since - timedelta(hours=2)
    db.session.commit()
    sign_in(client, "it_staff")
    card = _section(_page(client, job), "heartbeat")
    assert "late since" in card and "(50 min ago)" in card


def test_a_new_url_from_the_page_kills_the_old_one_and_is_audited(client, job):
    admin = sign_in(client, "it_staff")
    old = ping_key(job)
    form_html = _page(client, job)
    assert f'action="/servers/{job.id}/ping-key"' in form_html
    assert client.post(f"/servers/{job.id}/ping-key").status_code in (400, 403)  # no CSRF
    db.session.expire_all()
    assert ping_key(job) == old
    response = post_form(client, f"/servers/{job.id}/ping-key", follow_redirects=True)
    assert response.status_code == 200
    html = unescape(response.get_data(as_text=True))
    db.session.expire_all()
    new = ping_key(job)
    assert new != old and f"/ping/{new}</code>" in html and old not in html
    assert "the old one no longer works" in html
    assert client.get(f"/ping/{old}").status_code == 404
    assert client.get(f"/ping/{new}").status_code == 200
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "server.ping_key_rotated")).one()
    assert (event.actor_name, event.target_id) == (admin.username, str(job.id))
    assert new not in str((event.before, event.after, event.detail))  # the key is no record


def test_a_probed_server_has_no_ping_url_to_renew(client):
    sign_in(client, "it_staff")
    server = make_server("web")
    html = _page(client, server)
    assert 'id="probe-heading"' in html and 'data-testid="heartbeat"' not in html
    assert post_form(client, f"/servers/{server.id}/ping-key").status_code == 404


def test_last_runs_show_each_ping_escaped(client, job):
    key = ping_key(job)
    client.get(f"/ping/{key}/start", headers={"User-Agent": "curl/8.5 <b>x</b>"})
    client.post(f"/ping/{key}", data=b"<script>alert(1)</script>\nrows: 120034\n",
                headers={"User-Agent": "Wget/1.21"})
    client.get(f"/ping/{key}/fail")
    sign_in(client, "it_staff")
    html = _page(client, job)
    runs = _section(html, "last-runs")
    kinds = re.findall(r'data-ping-kind="(\w+)"', runs)
    assert kinds == ["fail", "success", "start"]  # newest first
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\nrows: 120034" in runs
    assert "<script>alert(1)" not in html
    assert "curl/8.5 &lt;b&gt;x&lt;/b&gt;" in runs and "Wget/1.21" in runs
    assert "127.0.0.1" in runs
    success = runs.split('data-ping-kind="success"', 1)[1].split("</tr>", 1)[0]
    assert re.search(r"<td class=\"text-nowrap\">\d+\.\d s</td>", success)  # after its start
    assert "<details><summary>" in success


def test_no_runs_yet_says_so(client, job):
    sign_in(client, "it_staff")
    assert 'data-testid="no-runs"' in _section(_page(client, job), "last-runs")


def test_tiles_and_the_list_show_a_heartbeats_schedule_for_its_target(client, job):
    make_server("web", target="https://web.bank.example/health")
    sign_in(client, "customer_engagement")
    tiles = client.get("/dashboard?view=tiles").get_data(as_text=True)
    tile = tiles.split('id="tile-', 2)  # both tiles are there
    assert len(tile) == 3
    assert 'tile-target mt-1">heartbeat, every 1 h</span>' in tiles
    assert 'tile-target mt-1">https://web.bank.example/health</span>' in tiles
    listing = client.get("/servers").get_data(as_text=True)
    assert ">heartbeat, every 1 h</td>" in listing
    assert ">https://web.bank.example/health</td>" in listing
