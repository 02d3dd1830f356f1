"""The Settings page: every setting in one form, saved through the settings service."""

import pytest

from portal.settings.service import load_settings
from tests.support.pages import post_form, sign_in


def _form(**overrides):
    data = {
        "timezone": "Africa/Nairobi", "grafana_url": "https://grafana.bank.example/",
        "notify_roles": ["admin", "ebanking_support"], "notify_email": "on",
        "probe_interval_s": "60", "probe_timeout_s": "5",
        "flap_changes": "6", "flap_window_min": "15", "flap_settle_min": "4",
        "gather_window_s": "45", "digest_hour": "9", "escalate_after_min": "20",
        "escalate_tier2_roles": ["admin"], "escalate_tier3_roles": ["customer_engagement"],
        "audit_retention_days": "730", "session_idle_minutes": "20", "session_lifetime_hours": "10",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/settings")
    assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("role", ["customer_engagement", "flexipay_support"])
def test_roles_without_settings_manage_are_refused(client, role):
    sign_in(client, role)
    response = client.get("/settings")
    assert response.status_code == 403
    assert "settings.manage" in response.get_data(as_text=True)
    assert post_form(client, "/settings", _form()).status_code == 403
    assert load_settings().timezone == "Africa/Kampala"


def test_the_form_shows_the_current_settings(client):
    sign_in(client, "it_staff")
    html = client.get("/settings").get_data(as_text=True)
    assert "<option selected>Africa/Kampala</option>" in html
    assert "FlexiPay Support" in html  # role labels on the notify checkboxes
    assert 'value="admin" checked' in html
    assert 'value="flexipay_support" checked' not in html


def test_saving_the_form_stores_every_field(client):
    sign_in(client)
    response = post_form(client, "/settings", _form())
    assert response.status_code == 302
    saved = load_settings()
    assert saved.timezone == "Africa/Nairobi"
    assert saved.grafana_url == "https://grafana.bank.example"
    assert saved.notify_roles == ["admin", "ebanking_support"]
    assert saved.notify_email is True
    assert saved.notify_sms is False and saved.notify_on_resolve is False  # unchecked boxes
    assert (saved.probe_interval_s, saved.probe_timeout_s) == (60, 5)
    assert (saved.flap_changes, saved.flap_window_min, saved.flap_settle_min) == (6, 15, 4)
    assert saved.gather_window_s == 45
    assert saved.digest_hour == 9
    assert saved.audit_retention_days == 730
    assert (saved.session_idle_minutes, saved.session_lifetime_hours) == (20, 10)
    assert (saved.escalate_after_min, saved.escalate_tier2_roles, saved.escalate_tier3_roles) == (
        20, ["admin"], ["customer_engagement"])
    assert "Settings saved." in client.get("/settings").get_data(as_text=True)


def test_a_timeout_not_below_the_interval_is_an_error_on_the_timeout(client):
    sign_in(client)
    response = post_form(client, "/settings", _form(probe_interval_s="30", probe_timeout_s="30"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field-error="probe_timeout_s"' in html
    assert load_settings().timezone == "Africa/Kampala"


def test_bad_values_are_field_errors_and_nothing_is_saved(client):
    sign_in(client)
    response = post_form(client, "/settings", _form(timezone="Mars/Olympus", grafana_url="ftp://x",
                                                    probe_interval_s="soon",
                                                    gather_window_s="601", digest_hour="24"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for field in ("timezone", "grafana_url", "probe_interval_s", "gather_window_s", "digest_hour"):
        assert f'data-field-error="{field}"' in html, field
    assert 'value="ftp://x"' in html
    assert load_settings().grafana_url is None
