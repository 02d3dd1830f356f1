"""Page tests: browser-style sessions (form sign-in, cookies, the CSRF form field)."""

from __future__ import annotations

from portal.auth.models import User
from tests.factories import PASSWORD, make_user


def sign_in(client, role: str = "admin", **fields: object) -> User:
    """Make a user and sign in through the login form, so the session lives in cookies."""
    user = make_user(role, **fields)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.data
    return user


def csrf(client) -> str:
    """The double-submit value a page's form carries in its hidden csrf_token field, from
    its cookie by the name the app gives it (``__Host-`` prefixed over https)."""
    return client.get_cookie(client.application.config["JWT_ACCESS_CSRF_COOKIE_NAME"]).value


def post_form(client, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={"csrf_token": csrf(client), **(data or {})}, **kwargs)
