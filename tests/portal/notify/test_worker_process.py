"""`dramatiq portal.jobs.worker` as operators run it: it starts, sends queued mail, ingests probe
changes, and stops promptly on SIGTERM."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from portal.extensions import db
from portal.redis_client import get_redis
from portal.servers.models import ServerEvent
from tests.conftest import TEST_REDIS_URL
from tests.factories import make_server
from tests.portal.notify.helpers import fire, on_call
from tests.support.waiting import wait_for
from wire import EVENTS_STREAM

ROOT = Path(__file__).resolve().parents[3]


def test_the_worker_process_delivers_ingests_and_stops_on_sigterm(notify_client, smtp,
                                                                   tmp_path):
    config = notify_client.application.config["SERVERMON"]
    env = {**os.environ, "DATABASE_URL": config.database_url, "REDIS_URL": TEST_REDIS_URL,
           "SECRET_KEY": config.secret_key, "SD_TOKEN": config.sd_token,
           "PROBE_SECRETS_KEY": config.probe_secrets_key,
           "ALERTMANAGER_WEBHOOK_TOKEN": config.alertmanager_webhook_token,
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp[0]),
           "PORTAL_URL": "https://servermon.bank.example"}
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "dramatiq"), "portal.jobs.worker", "--processes", "1",
             "--threads", "2"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        server = make_server("core-banking")
        on_call(notify_sms=False)
        fire(notify_client, server)
        wait_for(lambda: smtp[1], timeout=30, what="the e-mail from the worker process",
                 context=log.read_text)
        get_redis().xadd(EVENTS_STREAM, {"event_id": uuid.uuid4().hex, "server_id": str(server.id),
                                  "status": "down", "previous": "up", "reason": "timeout",
                                  "latency_ms": "", "at": "2026-11-28T08:00:00+00:00",
                                  "last_ok_at": ""})

        def ingested():
            db.session.expire_all()
            return db.session.scalar(db.select(ServerEvent))

        event = wait_for(ingested, timeout=15, what="the probe change ingested",
                         context=log.read_text)
        assert event.reason == "timeout"
        stopping = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0, log.read_text()
        assert time.monotonic() - stopping < 10
    finally:
        if worker.poll() is None:
            # Its forked worker process too: one left running would take later tests' jobs.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
