"""Bad server input is reported all at once, in plain words, by the form and by the API.

Before, the rules between fields (the target for its kind, the timeout against the
interval) ran only once every field was valid on its own, so the form revealed its errors
one stage at a time, in pydantic's wording ("Input should be greater than or equal to 10").
"""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, Field, ValidationError

from portal.errors import field_errors
from portal.servers.schemas import ServerSpec
from tests.factories import login, make_user
from tests.portal.servers.pages import server_count, server_form
from tests.support.pages import post_form, sign_in

SEVERAL_BAD = {"kind": "http", "target": "ebanking.bank.example/health", "interval_s": "5",
               "timeout_s": "90", "down_after": "9"}


def _field_error(html: str, name: str) -> str:
    """The message shown beside a field, which must also be the input's description."""
    match = re.search(rf'<div class="invalid-feedback" id="f-{name}-error" data-field-error="{name}">'
                      r"([^<]*)</div>", html)
    assert match, f"no error beside {name}"
    assert re.search(rf'name="{name}"[^>]*aria-describedby="[^"]*f-{name}-error', html) or \
        re.search(rf'aria-describedby="[^"]*f-{name}-error[^"]*"[^>]*name="{name}"', html) or \
        name == "target"
    return match.group(1)


def test_the_form_shows_every_bad_field_at_once_in_plain_words(client):
    sign_in(client)
    response = post_form(client, "/servers/new", server_form(**SEVERAL_BAD))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert _field_error(html, "interval_s") == "Must be at least 10 seconds"
    assert _field_error(html, "timeout_s") == "Must be at most 60 seconds"
    assert _field_error(html, "down_after") == "Must be at most 5"
    # The target's rule runs although other fields are wrong.
    assert _field_error(html, "target") == "Enter a URL starting with http:// or https://"
    assert "Input should be" not in html and "Value error" not in html
    assert server_count() == 0


def test_a_timeout_longer_than_the_interval_is_reported_with_the_target(client):
    sign_in(client)
    response = post_form(client, "/servers/new", server_form(
        kind="icmp", target="not a host", interval_s="30", timeout_s="45"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_error(html, "timeout_s") == "Must be shorter than the interval (30 seconds)"
    assert _field_error(html, "target").startswith("Enter a host name or IP address")


def test_the_form_asks_the_browser_not_to_stop_at_the_first_field(client):
    sign_in(client)
    html = client.get("/servers/new").get_data(as_text=True)
    assert re.search(r'<form method="post" class="server-form"[^>]*novalidate', html)


def test_the_api_400_names_each_field_in_plain_words(client):
    headers = login(client, make_user("it_staff"))
    body = {"name": "", "kind": "http", "target": "ftp://files.bank.example/", "interval_s": 5,
            "timeout_s": 90, "http_max_latency_ms": 0, "enabled": "perhaps", "colour": "red"}
    response = client.post("/api/servers", json=body, headers=headers)
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["details"] == {
        "name": "must not be empty",
        "target": "enter a URL starting with http:// or https://",
        "interval_s": "must be at least 10 seconds",
        "timeout_s": "must be at most 60 seconds",
        "http_max_latency_ms": "must be at least 1 ms",
        "enabled": "must be true or false",
        "colour": "unknown field",
    }
    assert answer["error"].startswith("invalid value for ")
    assert all(field in answer["error"] for field in answer["details"])


def test_rules_between_valid_fields_are_all_reported_together(client):
    headers = login(client, make_user("it_staff"))
    body = {"name": "slow", "kind": "http", "target": "https://slow.bank.example/",
            "interval_s": 30, "timeout_s": 30, "http_max_latency_ms": 40000,
            "http_keyword": "(", "http_keyword_regex": True}
    details = client.post("/api/servers", json=body, headers=headers).get_json()["details"]
    assert details["timeout_s"] == "must be shorter than the interval (30 seconds)"
    assert details["http_max_latency_ms"] == "must not exceed the timeout (30 seconds = 30000 ms)"
    assert "http_keyword" in details


def test_the_model_alone_blames_every_field_its_rules_refuse():
    try:
        ServerSpec.model_validate({"name": "x", "kind": "tcp", "target": "db1", "interval_s": 10,
                                   "timeout_s": 10})
    except ValueError as exc:
        details = field_errors(exc)
    assert set(details) == {"target", "timeout_s"}
    assert details["timeout_s"] == "must be shorter than the interval (10 seconds)"


def test_a_bound_of_one_reads_in_the_singular():
    class Spec(BaseModel):
        timeout_s: int = Field(ge=1)
        slowest_ms: int = Field(ge=1)
        interval_s: int = Field(ge=10)

    with pytest.raises(ValidationError) as caught:
        Spec(timeout_s=0, slowest_ms=0, interval_s=1)
    assert field_errors(caught.value) == {"timeout_s": "must be at least 1 second",
                                          "slowest_ms": "must be at least 1 ms",
                                          "interval_s": "must be at least 10 seconds"}
