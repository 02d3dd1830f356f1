"""Stand-ins for services outside the machine, named as such: an SMTP sink and a local
HTTP server speaking Twilio's Messages REST API."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

from tests.support.binaries import free_port


class _Sink:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, _server, _session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


class SmtpSink:
    """SMTP sink standing in for the bank's mail relay, which can be taken down (its port
    then refuses connections) and brought back on the same port."""

    def __init__(self) -> None:
        self.sink = _Sink()
        self.port = free_port()
        self.messages = self.sink.messages
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def smtp_sink(relay: SmtpSink | None = None) -> Iterator[tuple[int, list[Message]]]:
    """SMTP sink standing in for the bank's mail relay: (port, received messages)."""
    relay = relay or SmtpSink()
    relay.start()
    try:
        yield relay.port, relay.messages
    finally:
        relay.stop()


class JsonHandler(BaseHTTPRequestHandler):
    """Answers in JSON and keeps quiet in the test output."""

    def _answer(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


class TwilioStandIn:
    """Local HTTP server speaking Twilio's Messages API; can be told to fail."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.fail_next = 0
        self.throttle_next = 0  # answered 429 with Retry-After: retry_after
        self.retry_after = "120"
        self.hang_next = 0  # held for hang_s, then 500, not sent: a request lost mid-way
        self.hang_s = 30.0
        self.received = 0  # every POST, sent or not
        self.lock = threading.Lock()
        stand_in = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with stand_in.lock:
                    stand_in.received += 1
                    hanging = stand_in.hang_next > 0
                    stand_in.hang_next -= hanging
                if hanging:
                    time.sleep(stand_in.hang_s)
                    self._answer(500, {"code": 20500, "message": "Internal Server Error",
                                       "status": 500})
                    return
                with stand_in.lock:
                    throttled = stand_in.throttle_next > 0
                    stand_in.throttle_next -= throttled
                    failing = not throttled and stand_in.fail_next > 0
                    stand_in.fail_next -= failing
                if throttled:
                    self._answer(429, {"code": 20429, "message": "Too Many Requests",
                                       "status": 429},
                                 {"Retry-After": stand_in.retry_after})
                    return
                if failing or not self.path.endswith("/Messages.json"):
                    self._answer(500, {"code": 20500, "message": "Internal Server Error",
                                       "status": 500})
                    return
                with stand_in.lock:
                    stand_in.sent.append({"path": self.path, **form,
                                          "auth": self.headers.get("Authorization"),
                                          "at": time.monotonic()})
                self._answer(201, {"sid": "SM" + uuid.uuid4().hex, "status": "queued",
                                   "to": form.get("To"), "from": form.get("From"),
                                   "body": form.get("Body"), "account_sid": "AC",
                                   "num_segments": "1", "direction": "outbound-api"})


        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TwilioStandIn:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()


class GrafanaStandIn:
    """Local HTTP server speaking the parts of Grafana's API the portal uses."""

    def __init__(self) -> None:
        self.annotations: dict[int, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        stand_in = self

        class Handler(JsonHandler):
            def _body(self) -> dict:
                length = int(self.headers.get("Content-Length", 0))
                return json.loads(self.rfile.read(length) or b"{}")

            def do_GET(self) -> None:
                stand_in.requests.append(("GET", self.path, dict(self.headers)))
                if self.path == "/api/frontend/settings":
                    self._answer(200, {"buildInfo": {"version": "11.3.0", "edition": "Open"}})
                elif self.path.startswith("/api/dashboards/uid/"):
                    uid = self.path.rsplit("/", 1)[1]
                    self._answer(200, {"dashboard": {"uid": uid},
                                       "meta": {"url": f"/grafana/d/{uid}/{uid}"}})
                elif self.path.startswith("/grafana/"):
                    self._answer(200, {"user": self.headers.get("X-WEBAUTH-USER")})
                else:
                    self._answer(404, {"message": "Not found"})

            def do_POST(self) -> None:
                body = self._body()
                stand_in.requests.append(("POST", self.path, body))
                if self.path == "/api/annotations":
                    new_id = len(stand_in.annotations) + 1
                    stand_in.annotations[new_id] = body
                    self._answer(200, {"id": new_id, "message": "Annotation added"})
                else:
                    self._answer(404, {"message": "Not found"})

            def do_PATCH(self) -> None:
                body = self._body()
                stand_in.requests.append(("PATCH", self.path, body))
                annotation = int(self.path.rsplit("/", 1)[1])
                stand_in.annotations[annotation].update(body)
                self._answer(200, {"message": "Annotation patched"})


        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> GrafanaStandIn:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()


class WebhookReceiver:
    """A stand-in for a webhook receiver outside the machine (a ticketing system, a chat
    service's incoming webhook): records every POST with its headers and raw body, and
    can answer 500 to the next ``fail_next`` posts."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= failing
                    if not failing:
                        receiver.posts.append({"path": self.path, "headers": dict(self.headers),
                                               "body": body})
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
