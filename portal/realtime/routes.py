"""/ws: live status, incidents and notifications for signed-in browsers (flask-sock).

Authenticated by the session cookie and limited to pages of this site by the Origin
header (a WebSocket is not covered by the same-origin policy, so without this check any
site could read a signed-in user's feed). The first frame is a snapshot, so a client
that reconnects after missing events is whole again. The session is checked again while
the socket is open (``watch.py``), so it ends with the sign-out, not hours later.
"""

from __future__ import annotations

import json
import queue
import time

from flask import Blueprint, current_app
from simple_websocket import ConnectionClosed

from portal.auth.guard import NotAuthenticated, authenticate
from portal.errors import APIError
from portal.extensions import db, sock
from portal.rbac import has_permission
from portal.realtime.hub import Client, Hub
from portal.realtime.publish import SESSION_CHECK
from portal.realtime.snapshot import snapshot
from portal.realtime.watch import TRY_AGAIN_LATER, SessionWatch
from portal.web.security import from_this_site

bp = Blueprint("realtime", __name__)

PING_EVERY_S = 25
WAKE_EVERY_S = 1.0
POLICY_VIOLATION = 1008


def hub() -> Hub:
    if "servermon_hub" not in current_app.extensions:
        current_app.extensions["servermon_hub"] = Hub(current_app.config["SERVERMON"].redis_url)
    return current_app.extensions["servermon_hub"]


def _send(ws, event: dict) -> None:
    ws.send(json.dumps(event, default=str))


def live(ws) -> None:
    if not from_this_site(origin_required=True):
        ws.close(reason=POLICY_VIOLATION, message="origin not allowed")
        return
    try:
        user = authenticate(allow_refresh_cookie=True)
    except NotAuthenticated:
        ws.close(reason=POLICY_VIOLATION, message="sign-in required")
        return
    except APIError as exc:  # the session store is away: the page should retry, not sign in
        ws.close(reason=TRY_AGAIN_LATER if exc.status == 503 else POLICY_VIOLATION,
                 message=exc.message)
        return
    if not has_permission(user.role, "status.view"):
        ws.close(reason=POLICY_VIOLATION, message="status.view permission required")
        return
    watch = SessionWatch.of_handshake(user)
    client = Client(user_id=user.id, role=user.role)
    hub().join(client)
    try:
        _send(ws, {"type": "snapshot", "data": snapshot(client.role, client.user_id)})
        db.session.remove()  # do not hold a database connection for the socket's lifetime
        quiet_since = time.monotonic()
        while ws.connected and not client.dropped:
            # Short waits: a closed socket frees its server thread within a second.
            try:
                event: dict | None = client.inbox.get(timeout=WAKE_EVERY_S)
            except queue.Empty:
                event = None
            told = event is not None and event["type"] == SESSION_CHECK
            ending = watch.ending(now=told)  # before anything is sent, and on quiet waits too
            if ending is not None:
                ws.close(reason=ending.code, message=ending.reason)
                break
            if event is None or told:
                if time.monotonic() - quiet_since < PING_EVERY_S:
                    continue
                event = {"type": "ping", "data": {}}
            quiet_since = time.monotonic()
            if event["type"] == "resync":
                event = {"type": "snapshot", "data": snapshot(client.role, client.user_id)}
                db.session.remove()
            _send(ws, event)
    except ConnectionClosed:
        pass
    finally:
        hub().leave(client)


# Checked inside the handler, as the handshake comes first; flask-sock copies the attribute.
live.required_permission = "status.view"
sock.route("/ws", bp=bp)(live)
