"""GET /auth/grafana: nginx's auth_request asks the portal who is calling Grafana.

Grafana runs with its auth proxy on and is reachable only through nginx, which lets a
request through when this answers 2xx and passes on the user it names; so Grafana is
never open anonymously and staff sign in once, to the portal.
"""

from __future__ import annotations

from flask import Blueprint

from portal.auth.guard import current_user, requires
from portal.rbac import has_permission

bp = Blueprint("auth_proxy", __name__)


def grafana_role(role: str) -> str:
    if role == "admin":
        return "Admin"
    return "Editor" if has_permission(role, "codebase.view") else "Viewer"


@bp.get("/auth/grafana")
@requires("status.view")
def grafana():
    user = current_user()
    return "", 204, {
        "X-WEBAUTH-USER": user.username,
        "X-WEBAUTH-EMAIL": user.email,
        "X-WEBAUTH-ROLE": grafana_role(user.role),
        "Cache-Control": "no-store",
    }
