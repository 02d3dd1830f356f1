"""`dramatiq portal.tasks` as operators run it: sends queued mail and ingests probe changes."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from portal.extensions import db
from portal.redis_client import get_redis
from portal.servers.ingest import STREAM
from portal.servers.models import ServerEvent
from tests.conftest import TEST_REDIS_URL
from tests.factories import make_server
from tests.portal.notify.test_notifications import fire, on_call
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[3]


def test_the_worker_process_delivers_and_ingests(notify_client, smtp, migrated):
    config = notify_client.application.config["SERVERMON"]
    env = {**os.environ, "DATABASE_URL": config.database_url, "REDIS_URL": TEST_REDIS_URL,
           "SECRET_KEY": config.secret_key, "SD_TOKEN": config.sd_token,
           "ALERTMANAGER_WEBHOOK_TOKEN": config.alertmanager_webhook_token,
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp[0]),
           "PORTAL_URL": "https://servermon.bank.example"}
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "dramatiq"), "portal.tasks", "--processes", "1",
         "--threads", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        server = make_server("core-banking")
        on_call(notify_sms=False)
        fire(notify_client, server)
        wait_for(lambda: smtp[1], timeout=30)
        get_redis().xadd(STREAM, {"event_id": uuid.uuid4().hex, "server_id": str(server.id),
                                  "status": "down", "previous": "up", "reason": "timeout",
                                  "latency_ms": "", "at": "2026-11-28T08:00:00+00:00",
                                  "last_ok_at": ""})

        def ingested():
            db.session.expire_all()
            return db.session.scalar(db.select(ServerEvent))

        assert wait_for(ingested, timeout=15).reason == "timeout"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
