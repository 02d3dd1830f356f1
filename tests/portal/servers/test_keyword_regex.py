"""The API refuses a keyword regex the exporter's engine, RE2, cannot run."""

import pytest

from portal.extensions import db
from portal.servers.models import Server
from tests.factories import login, make_server, make_user

HTTP = {"name": "core-banking", "kind": "http", "target": "https://cbs.bank.example/health",
        "http_keyword_regex": True}


@pytest.fixture
def headers(client):
    return login(client, make_user("it_staff"))


@pytest.mark.parametrize("pattern", [r"(a)\1", r"status(?= OK)", r"(?<!not )ready", r"ok\Z"])
def test_it_refuses_a_pattern_re2_cannot_compile_naming_the_field(client, headers, pattern):
    response = client.post("/api/servers", json={**HTTP, "http_keyword": pattern},
                           headers=headers)
    assert response.status_code == 400, response.get_json()
    message = response.get_json()["details"]["http_keyword"]
    assert message.startswith("not a valid regular expression (") and "RE2" in message
    assert db.session.scalar(db.select(db.func.count(Server.id))) == 0


def test_an_edit_to_such_a_pattern_is_refused(client, headers):
    server = make_server("edge", kind="http")
    response = client.patch(f"/api/servers/{server.id}",
                            json={"http_keyword": r"(a)\1", "http_keyword_regex": True},
                            headers=headers)
    assert response.status_code == 400 and "http_keyword" in response.get_json()["details"]


def test_a_pattern_re2_runs_is_saved(client, headers):
    response = client.post("/api/servers", json={**HTTP, "http_keyword": r"^(a+)+$"},
                           headers=headers)
    assert response.status_code == 201, response.get_json()
