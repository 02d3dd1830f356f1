"""Real WebSocket clients against a live portal: sign in, open /ws, read what it sends."""

from __future__ import annotations

import json
import time

import requests
import simple_websocket
from wsproto.events import CloseConnection
from wsproto.frame_protocol import CloseReason

from tests.factories import PASSWORD

# Client sockets run a non-daemon thread; the conftest closes these after every test.
OPEN: list[simple_websocket.Client] = []


def sign_in(address: str, user) -> dict[str, str]:
    """The cookies a browser holds after signing in: access, refresh and CSRF."""
    response = requests.post(f"http://{address}/api/auth/login",
                             json={"username": user.username, "password": PASSWORD}, timeout=10)
    response.raise_for_status()
    return {c.name: c.value for c in response.cookies}


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def cookies_for(address: str, user) -> str:
    return cookie_header(sign_in(address, user))


def connect(address: str, cookie: str | None = None, origin: str = "http://127.0.0.1:8000",
            headers: dict[str, str] | None = None) -> simple_websocket.Client:
    """The default Origin is the configured PORTAL_URL (simple-websocket sends no port in Host)."""
    headers = {"Origin": origin, **(headers or {})}
    if cookie:
        headers["Cookie"] = cookie
    ws = simple_websocket.Client.connect(f"ws://{address}/ws", headers=headers)
    OPEN.append(ws)
    return ws


def receive(ws: simple_websocket.Client, kind: str, timeout: float = 5) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = ws.receive(timeout=deadline - time.monotonic())
        if raw is None:
            break
        event = json.loads(raw)
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind} event within {timeout}s")


def close_code(ws: simple_websocket.Client, closed: simple_websocket.ConnectionClosed) -> int:
    code = closed.reason
    if code == CloseReason.NO_STATUS_RCVD:
        # The close frame came in the same read as the handshake's answer: simple-websocket's
        # client parses only the answer and leaves the frame unread. Read it.
        code = next((event.code for event in ws.ws.events()
                     if isinstance(event, CloseConnection)), code)
    return int(code)


def until_closed(ws: simple_websocket.Client, within: float) -> tuple[int, list[dict], float]:
    """The close code, the frames received before it and how long it took; fails if the
    server keeps the socket open for longer than ``within`` seconds."""
    start = time.monotonic()
    frames: list[dict] = []
    try:
        while (left := start + within - time.monotonic()) > 0:
            raw = ws.receive(timeout=left)
            if raw is not None:
                frames.append(json.loads(raw))
    except simple_websocket.ConnectionClosed as closed:
        return close_code(ws, closed), frames, time.monotonic() - start
    raise AssertionError(f"the socket was still open after {within}s; it got {frames}")
