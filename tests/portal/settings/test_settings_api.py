"""Run-time settings: defaults, validation naming the field, persistence."""

from tests.factories import login, make_user


def test_it_returns_defaults_then_persists_changes(client):
    headers = login(client, make_user("it_staff"))
    defaults = client.get("/api/settings", headers=headers).get_json()
    assert defaults["timezone"] == "Africa/Kampala"
    assert defaults["probe_interval_s"] == 30
    response = client.put("/api/settings", json={"timezone": "Europe/London",
                                                 "notify_roles": ["admin"]}, headers=headers)
    assert response.status_code == 200
    again = client.get("/api/settings", headers=headers).get_json()
    assert again["timezone"] == "Europe/London" and again["notify_roles"] == ["admin"]
    assert again["probe_interval_s"] == 30


def test_new_servers_use_the_probe_defaults(client):
    headers = login(client, make_user("admin"))
    client.put("/api/settings", json={"probe_interval_s": 60, "probe_timeout_s": 5},
               headers=headers)
    server = client.post("/api/servers", json={"name": "x", "kind": "icmp", "target": "10.0.0.1"},
                         headers=headers).get_json()
    assert (server["interval_s"], server["timeout_s"]) == (60, 5)


def test_bad_values_are_named_and_nothing_is_saved(client):
    headers = login(client, make_user("admin"))
    cases = [({"timezone": "Mars/Olympus"}, "timezone"),
             ({"notify_roles": ["root"]}, "notify_roles.0"),
             ({"grafana_url": "javascript:alert(1)"}, "grafana_url"),
             ({"probe_timeout_s": 40}, "probe_timeout_s"),
             ({"colour": "blue"}, "colour")]
    for body, field in cases:
        response = client.put("/api/settings", json={"notify_email": False, **body},
                              headers=headers)
        assert response.status_code == 400, body
        assert field in response.get_json()["details"], response.get_json()
    assert client.get("/api/settings", headers=headers).get_json()["notify_email"] is True


def test_the_digest_hour_is_an_hour_of_the_day(client):
    headers = login(client, make_user("admin"))
    assert client.get("/api/settings", headers=headers).get_json()["digest_hour"] == 7
    for bad in (-1, 24, "seven", 7.5):
        response = client.put("/api/settings", json={"digest_hour": bad}, headers=headers)
        assert response.status_code == 400, bad
        assert "digest_hour" in response.get_json()["details"], response.get_json()
    response = client.put("/api/settings", json={"digest_hour": 0}, headers=headers)
    assert response.status_code == 200 and response.get_json()["digest_hour"] == 0
