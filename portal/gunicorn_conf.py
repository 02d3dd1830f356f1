"""How gunicorn serves the portal everywhere: ``gunicorn -c portal/gunicorn_conf.py
'portal:create_app()'`` (script/server, the image, docker-compose.yml, the tests).

It listens on this host only unless ``PORTAL_LISTEN`` says otherwise: nginx in front is the
way in, and a portal open beside it could be reached without it. Threads, because every
open page holds a WebSocket on one. Command-line options still win over these (script/server
writes the access log to a file).
"""

import gc
import os
import re
import sys

import gunicorn.http.wsgi
from gunicorn.glogging import Logger

_listen = os.environ.get("PORTAL_LISTEN", "").strip() or "127.0.0.1"
if ":" in _listen and not _listen.startswith("["):
    _listen = f"[{_listen}]"  # an IPv6 address, as gunicorn wants it

bind = [f"{_listen}:{os.environ.get('PORTAL_PORT', '').strip() or '8000'}"]
workers = 2
threads = 32
accesslog = "-"

_PING_KEY = re.compile(r"/ping/[^/\s?]+")


class AccessLog(Logger):
    """The access log without heartbeat ping keys: a key in a log is a key anyone reading
    the log can ping with (``/ping/<key>/fail`` pages people)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U"):
            if isinstance(atoms.get(name), str):
                atoms[name] = _PING_KEY.sub("/ping/<key>", atoms[name])
        return atoms


logger_class = AccessLog

# Every response would say "Server: gunicorn", naming the software to look up flaws for;
# gunicorn has no setting for it, its responses read this module's constant.
gunicorn.http.wsgi.SERVER = "servermon"


def on_starting(_server: object) -> None:
    """Check the configuration once, before any worker: a worker that exits on a bad
    setting is only started again, for ever, so gunicorn itself must stop, with the line."""
    from portal.config import Config, ConfigError

    try:
        Config.from_env()
    except ConfigError as exc:
        print(f"servermon: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def post_worker_init(_worker: object) -> None:
    """Move what loading the app made (Flask, SQLAlchemy, pydantic, the templates: most of a
    worker's objects, and all of them for its life) out of the collector's way. Each full
    pass over them held the interpreter lock for 55-270 ms, every thread's request waiting,
    measured in bench/heartbeats.py's portal workers. Frozen objects are still freed by
    reference counting; only a cycle alive now would never be, so the collection first."""
    gc.collect()
    gc.freeze()
