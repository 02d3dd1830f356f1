"""The sign-in page as an attacker uses it: where it sends the browser afterwards, and
whether another site can sign a browser in."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, make_user


def post_login(client, user, next_url=None, **headers):
    query = {"next": next_url} if next_url is not None else {}
    return client.post("/login", query_string=query, headers=headers,
                       data={"username": user.username, "password": PASSWORD})


@pytest.mark.parametrize("hostile", [
    "//evil.example", "/\\evil.example", "/\t/evil.example",
    "/\n/evil.example", "/\r\nSet-Cookie: x=1", "https://evil.example/", "javascript:alert(1)",
    "/\\/evil.example", "\\\\evil.example", " //evil.example", "/\x7f/evil.example",
])
def test_after_sign_in_it_never_sends_the_browser_to_another_site(client, hostile):
    response = post_login(client, make_user("it_staff"), hostile)
    assert response.status_code == 302
    assert response.location == "/dashboard", response.location


def test_a_tab_sent_encoded_in_the_address_is_refused_too(client):
    user = make_user("it_staff")
    response = client.post("/login?next=/%09/evil.example",
                           data={"username": user.username, "password": PASSWORD})
    assert response.location == "/dashboard"  # before: Location: //evil.example


def test_a_path_of_this_site_is_kept(client):
    response = post_login(client, make_user("it_staff"), "/servers/3?tab=history")
    assert response.location == "/servers/3?tab=history"


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # a sibling host (grafana.bank.example) is another site
])
def test_another_site_cannot_sign_the_browser_in(client, headers):
    response = post_login(client, make_user("it_staff"), **headers)
    assert response.status_code == 403
    assert "Set-Cookie" not in response.headers
    assert "Sign in from this portal" in response.get_data(as_text=True)


@pytest.mark.parametrize("headers", [
    {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"},  # PORTAL_URL's
    {"Origin": "http://localhost"},  # the host the request came to
    {},  # not a browser's cross-site request: a script, a monitoring probe
])
def test_the_portals_own_page_signs_in(client, headers):
    response = post_login(client, make_user("it_staff"), **headers)
    assert response.status_code == 302 and "access_token_cookie" in response.headers["Set-Cookie"]
