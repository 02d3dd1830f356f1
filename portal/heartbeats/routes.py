"""``/ping/<key>[/start|/fail|/<exit code>]``: where jobs report, with curl or PowerShell.

No sign-in: the key is the credential. GET, POST and HEAD alike (a POST's body, its first
10 KB, is kept as the run's log excerpt). An unknown key, a malformed one and an unknown
suffix all get the same 404, so the answer tells a guesser nothing; a flood gets a 429.
"""

from __future__ import annotations

from flask import Blueprint, request

from portal.auth.guard import public
from portal.heartbeats.service import MAX_BODY, ping_of, record_ping
from portal.heartbeats.throttle import retry_after

bp = Blueprint("pings", __name__)

_TEXT = {"Content-Type": "text/plain; charset=utf-8"}
METHODS = ["GET", "POST", "HEAD"]


@bp.route("/ping/<key>", methods=METHODS, defaults={"action": None})
@bp.route("/ping/<key>/<action>", methods=METHODS)
@public("a job reports with its unguessable ping key")
def ping(key: str, action: str | None):
    address = request.remote_addr or "unknown"
    wait = retry_after(key, address)
    if wait is not None:
        return "too many pings; slow down\n", 429, {**_TEXT, "Retry-After": str(wait)}
    parsed = ping_of(action, source=request.remote_addr, method=request.method,
                     user_agent=request.headers.get("User-Agent"),
                     body=request.stream.read(MAX_BODY) if request.method == "POST" else b"")
    if parsed is None or record_ping(key, parsed) is None:
        return "not found\n", 404, _TEXT
    return "OK\n", 200, _TEXT
