"""GET /api/audit: for Admin Dashboard roles only; every column; filters that narrow;
paging; bad filters named."""

from datetime import UTC, datetime, timedelta

import pytest

from portal.audit.service import Target
from portal.rbac import ROLES, has_permission
from tests.factories import login, make_user
from tests.portal.audit.dated import add_event

T0 = datetime(2026, 11, 1, 21, 30, tzinfo=UTC)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


@pytest.mark.parametrize("role", list(ROLES))
def test_only_admin_view_roles_read_the_trail(client, role):
    headers = login(client, make_user(role))
    response = client.get("/api/audit", headers=headers)
    if has_permission(role, "admin.view"):
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.get_json()["details"] == {"permission": "admin.view"}


def test_signed_out_requests_get_401(client):
    assert client.get("/api/audit").status_code == 401
    assert client.get("/api/audit?format=csv").status_code == 401


def test_items_carry_every_column_newest_first(client):
    admin = make_user("admin", username="auditor")
    first = add_event("test.created", at=T0, target=Target("server", 12, "core-banking"),
                      actor=admin, after={"name": "core-banking"})
    second = add_event("test.updated", at=T0 + timedelta(minutes=1),
                       target=Target("server", 12, "core-banking"), actor=admin,
                       before={"interval_s": 30}, after={"interval_s": 60}, detail={"note": "x"})
    body = client.get("/api/audit?action=test.", headers=login(client, admin)).get_json()
    assert [item["id"] for item in body["items"]] == [second.id, first.id]
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 50, 2, 1)
    assert body["items"][0] == {
        "id": second.id, "at": "2026-11-01T21:31:00+00:00",
        "actor": {"kind": "user", "id": admin.id, "name": "auditor", "token_id": None},
        "address": None, "user_agent": None, "action": "test.updated",
        "target": {"kind": "server", "id": "12", "name": "core-banking"},
        "before": {"interval_s": 30}, "after": {"interval_s": 60}, "detail": {"note": "x"},
        "prev_hash": first.hash, "hash": second.hash,
    }


def test_actor_matches_part_of_the_name_in_any_case_or_an_exact_id(client):
    alice, bob = make_user("it_staff", username="alice.okello"), make_user("it_staff", username="bob")
    by_alice = add_event("test.a", actor=alice)
    by_bob = add_event("test.b", actor=bob)
    by_digits = add_event("test.c", actor_name=str(alice.id))  # an anonymous caller typed it
    headers = login(client, make_user("admin"))
    assert ids(client.get("/api/audit?action=test.&actor=OKELLO", headers=headers)) == [by_alice.id]
    assert ids(client.get(f"/api/audit?action=test.&actor={bob.id}", headers=headers)) == [by_bob.id]
    assert ids(client.get(f"/api/audit?action=test.&actor={alice.id}", headers=headers)) == [
        by_digits.id, by_alice.id]
    assert ids(client.get("/api/audit?action=test.&actor=100%25", headers=headers)) == []


def test_action_is_exact_or_a_prefix_ending_in_a_dot(client):
    signed_in = add_event("test.sign_in")
    signed_out = add_event("test.sign_out")
    other = add_event("other.sign_in")
    headers = login(client, make_user("admin"))
    assert ids(client.get("/api/audit?action=test.sign_in", headers=headers)) == [signed_in.id]
    assert ids(client.get("/api/audit?action=test.", headers=headers)) == [signed_out.id, signed_in.id]
    assert ids(client.get("/api/audit?action=other.", headers=headers)) == [other.id]
    assert ids(client.get("/api/audit?action=test", headers=headers)) == []


def test_target_matches_part_of_its_name_or_kind_and_id(client):
    cbs = add_event("test.x", target=Target("server", 12, "Core-Banking-01"))
    atm = add_event("test.x", target=Target("server", 3, "atm-switch"))
    user = add_event("test.x", target=Target("user", 12, "carol"))
    headers = login(client, make_user("admin"))
    assert ids(client.get("/api/audit?action=test.x&target=banking", headers=headers)) == [cbs.id]
    assert ids(client.get("/api/audit?action=test.x&target=server:12", headers=headers)) == [cbs.id]
    assert ids(client.get("/api/audit?action=test.x&target=user:12", headers=headers)) == [user.id]
    assert ids(client.get("/api/audit?action=test.x&target=server:3", headers=headers)) == [atm.id]


def test_from_is_included_and_to_is_not(client):
    early = add_event("test.t", at=T0)
    middle = add_event("test.t", at=T0 + timedelta(hours=1))
    late = add_event("test.t", at=T0 + timedelta(hours=2))
    headers = login(client, make_user("admin"))
    query = "/api/audit?action=test.t&from=2026-11-02T01:30:00%2B03:00"
    assert ids(client.get(query, headers=headers)) == [late.id, middle.id]
    assert ids(client.get(query + "&to=2026-11-01T23:30:00Z", headers=headers)) == [middle.id]
    assert ids(client.get("/api/audit?action=test.t&to=2026-11-01T22:30:00Z", headers=headers)) == [
        early.id]


@pytest.mark.parametrize(("query", "field"), [
    ("from=2026-11-01T08:00:00", "from"),
    ("from=yesterday", "from"),
    ("to=2026-11-01T08:00:00", "to"),
    ("from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "to"),
    ("format=xlsx", "format"),
    ("per_page=201", "per_page"),
    ("page=0", "page"),
    ("colour=blue", "colour"),
])
def test_bad_filters_are_a_400_naming_the_field(client, query, field):
    response = client.get(f"/api/audit?{query}", headers=login(client, make_user("admin")))
    assert response.status_code == 400
    assert field in response.get_json()["details"], response.get_json()


def test_pages_split_the_matching_rows(client):
    made = [add_event("test.paged").id for _ in range(5)]
    headers = login(client, make_user("admin"))
    second = client.get("/api/audit?action=test.paged&per_page=2&page=2", headers=headers).get_json()
    assert [item["id"] for item in second["items"]] == [made[2], made[1]]
    assert (second["total"], second["pages"]) == (5, 3)
    past = client.get("/api/audit?action=test.paged&per_page=2&page=4", headers=headers).get_json()
    assert past["items"] == [] and past["total"] == 5
