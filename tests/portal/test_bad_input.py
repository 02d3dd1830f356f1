"""Bad input anywhere gets a 4xx, never a 500: a sweep of every route in the URL map.

Each API route is called, as an administrator, with ids that do not exist or do not fit a
database integer, with query parameters of the wrong type, and with bodies that are not
JSON, not an object, or an object of wrong types. Pages get the same query parameters and
form fields. Only an upstream that is away (Prometheus, Alertmanager) may answer 502-504,
and every 400 from the API must say which field is wrong.
"""

from __future__ import annotations

import json

import pytest

from tests.factories import login, make_server, make_user

AM_TOKEN = {"Authorization": "Bearer am-token-for-tests-0123456789"}
HUGE = 2**70  # fits no database integer column
IDS = (0, HUGE)
WRONG_TYPES = ("page=x&per_page=-5&limit=-1&sort=;drop&status=nope&from=yesterday&to=never"
         "&start=a&end=b&step=0&range=1y&server_id=x&server=x&ids=a,b&incident=x&enabled=maybe"
         f"&label=no-equals&environment={'e' * 5000}&query=%7B&format=pdf&days=-1")
# One at a time, so that no other parameter's error hides one that reaches the database.
TOO_LARGE = tuple(f"{name}={HUGE}" for name in (
    "page", "per_page", "limit", "start", "end", "step", "server_id", "server", "ids", "incident",
    "incident_id", "owner_id", "user_id", "days", "from", "to"))
WHEN = {"starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T01:00:00Z"}
BODIES = (
    b"{not json",
    b"[]",
    b"null",
    b'"text"',
    json.dumps({"name": ["list"], "kind": 5, "target": {}, "interval_s": "soon",
                "timeout_s": HUGE, "labels": "x=y", "enabled": "perhaps", "role": 7,
                "username": None, "password": 12345678, "email": [], "phone": {}, "all": "yes",
                "ids": "1,2", "server_id": HUGE, "starts_at": "tomorrow", "ends_at": 3,
                "reason": "r" * 100_000, "channel": [], "grafana_url": "javascript:alert(1)",
                "timezone": "Mars/Olympus", "alerts": "none", "status": 1}).encode(),
    # Valid but for an id no database integer holds.
    json.dumps({"name": "new-server", "kind": "http", "target": "https://new.bank.example/",
                "owner_id": HUGE}).encode(),
    json.dumps({"server_id": HUGE, "reason": "work", **WHEN}).encode(),
    json.dumps({"ids": [HUGE]}).encode(),
    json.dumps({"user_id": HUGE, "incident_id": HUGE}).encode(),
    # Nested deeper than the parser goes, well under the size limit (a RecursionError: 500).
    b"[" * 200_000 + b"]" * 200_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
)
# The pages' forms: every field they read, filled wrongly or with an id too large.
FORM = {"name": "form-server", "kind": "http", "target": "https://form.bank.example/",
        "interval_s": "30", "timeout_s": "10", "owner_id": str(HUGE), "server_id": str(HUGE),
        "label": "k=v", "starts_at": "2030-01-01T00:00", "ends_at": "2030-01-01T01:00",
        "reason": "work", "username": "form.user", "password": "x", "role": "root",
        "email": "not-an-email", "phone": "call me", "ids": str(HUGE), "all": "maybe",
        "labels": "no-equals", "grafana_url": "javascript:alert(1)", "timezone": "Mars/Olympus",
        "http_max_latency_ms": str(HUGE), "expires_in_days": str(HUGE), "note": "n" * 10_000}
UPSTREAM_AWAY = {502, 503, 504}
# Logging out would end the sweep's own session; the endpoint has tests of its own.
SKIP = {"auth_api.logout", "auth_pages.logout", "realtime.live", "static"}


def paths(rule, server_id: int, user_id: int) -> list[str]:
    """The rule with each id filled in: one that exists, one that does not, one too large."""
    if not rule.arguments:
        return [rule.rule]
    existing = {"server_id": server_id, "user_id": user_id}
    out = []
    for value in (None, *IDS):
        filled = rule.rule
        for name in rule.arguments:
            filled = filled.replace(f"<int:{name}>", str(existing.get(name, 1) if value is None else value))
            filled = filled.replace(f"<{name}>", "nope")
        out.append(filled)
    return out


@pytest.fixture
def sweep(app, client):
    admin = make_user("admin")
    headers = login(client, admin)
    server = make_server("core-banking")
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint not in SKIP]
    return client, headers, rules, server.id, admin.id


def calls(rule, server_id: int, user_id: int):
    """(method, path, query, body) for every bad input this rule should refuse cleanly."""
    for path in paths(rule, server_id, user_id):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for query in (WRONG_TYPES, *TOO_LARGE):
                yield method, path, query, None
            if method in ("POST", "PUT", "PATCH"):
                for body in (*BODIES, FORM):
                    yield method, path, "", body


def fault(path: str, response) -> str | None:
    """What is wrong with the answer to bad input, if anything."""
    status = response.status_code
    if status >= 500 and status not in UPSTREAM_AWAY:
        return f"answered {status}"
    if b"Traceback" in response.data:
        return "a traceback in the answer"
    if status == 400 and path.startswith("/api/"):
        answer = response.get_json(silent=True) or {}
        if not (answer.get("error") and answer.get("details")):
            return f"a 400 that names no field: {answer}"
    return None


def test_no_route_answers_bad_input_with_a_500(sweep):
    """And every 400 from the API says which field is wrong."""
    client, headers, rules, server_id, user_id = sweep
    failures = []
    for rule in rules:
        for method, path, query, body in calls(rule, server_id, user_id):
            response = client.open(f"{path}?{query}", method=method, data=body, headers=headers,
                                   content_type="application/json" if isinstance(body, bytes) else None)
            problem = fault(path, response)
            if problem:
                failures.append(f"{method} {path}?{query[:20]} {str(body or '')[:50]}: {problem}")
    assert failures == [], "\n".join(failures)


def test_a_field_error_names_the_field(sweep):
    client, headers, *_ = sweep
    response = client.post("/api/servers", json={"name": "x", "kind": "http", "target": "x",
                                                 "interval_s": "soon"}, headers=headers)
    assert response.status_code == 400
    assert "interval_s" in json.dumps(response.get_json())
    response = client.get(f"/api/servers/{HUGE}", headers=headers)
    assert response.status_code == 404


def test_an_owner_id_too_large_is_an_error_under_its_field(sweep):
    """The sweep signs in by bearer header, so page forms are checked, not bounced to the
    login page; here a form right in every field but the owner's id."""
    client, headers, *_ = sweep
    form = {"name": "form-server", "kind": "http", "target": "https://form.bank.example/",
            "interval_s": "30", "timeout_s": "10", "http_method": "GET",
            "http_accepted_statuses": "200-399", "http_keyword_mode": "contains",
            "dns_record_type": "A", "owner_id": str(HUGE)}
    response = client.post("/servers/new", data=form, headers=headers)
    assert response.status_code == 400
    feedback = response.data.decode().split('id="f-owner_id-error"', 1)[1].split("</div>", 1)[0]
    assert "whole number" in feedback
    form["owner_id"] = ""
    assert client.post("/servers/new", data=form, headers=headers).status_code == 302


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 10 * 1024 * 1024])
@pytest.mark.parametrize("path", ["/api/auth/login", "/api/alertmanager/webhook", "/api/servers"])
def test_a_body_over_the_limit_is_refused_unread(client, path, size):
    headers = {"/api/auth/login": {}, "/api/alertmanager/webhook": AM_TOKEN,
               "/api/servers": login(client, make_user("admin"))}[path]
    body = b'{"name": "' + b"x" * size + b'"}'
    response = client.post(path, data=body, content_type="application/json", headers=headers)
    assert response.status_code == 413
    assert "body" in json.dumps(response.get_json())


@pytest.mark.parametrize("body", [b"[" * 200_000 + b"]" * 200_000,
                                  b'{"a":' * 100_000 + b"1" + b"}" * 100_000])
def test_deep_nesting_is_a_400_naming_the_body_even_before_sign_in(client, body):
    response = client.post("/api/auth/login", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["details"] == {"body": "nested too deeply"}
