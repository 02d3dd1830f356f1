"""`dramatiq portal.jobs.worker` on a Redis database another deployment holds: it refuses
to start, with one line saying who holds it, and never joins the consumer group."""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from portal.jobs.deployment import claim
from portal.redis_client import get_redis
from tests.conftest import TEST_REDIS_URL
from wire import DEPLOYMENT_KEY, EVENTS_GROUP, EVENTS_STREAM, deployment_holder, redis_database

ROOT = Path(__file__).resolve().parents[3]


def test_the_worker_refuses_a_database_another_deployment_holds(app, tmp_path):
    config = app.config["SERVERMON"]
    redis = get_redis()
    claim(redis, "staging")
    redis.xgroup_create(EVENTS_STREAM, EVENTS_GROUP, id="0", mkstream=True)
    redis.xgroup_createconsumer(EVENTS_STREAM, EVENTS_GROUP, "staging-worker")
    env = {**os.environ, "DATABASE_URL": config.database_url, "REDIS_URL": TEST_REDIS_URL,
           "SECRET_KEY": config.secret_key, "SD_TOKEN": config.sd_token,
           "PROBE_SECRETS_KEY": config.probe_secrets_key,
           "ALERTMANAGER_WEBHOOK_TOKEN": config.alertmanager_webhook_token}
    env.pop("DEPLOYMENT_NAME", None)
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "dramatiq"), "portal.jobs.worker", "--processes",
             "1", "--threads", "1"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        returncode = worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)  # its worker processes too
            worker.wait()
    output = log.read_text()
    assert returncode == 2, output
    line = (f'servermon: {re.escape(redis_database(redis))} is in use by deployment "staging" '
            rf"\(worker on host {re.escape(socket.gethostname())} pid {os.getpid()}, seen \d+ s "
            rf'ago\); this deployment is "{config.deployment}". Give each deployment its own '
            r"Redis database \(REDIS_URL\) or the same DEPLOYMENT_NAME\.$")
    assert len([text for text in output.splitlines() if re.fullmatch(line, text)]) == 1, output
    assert "Traceback" not in output
    assert [c["name"] for c in redis.xinfo_consumers(EVENTS_STREAM, EVENTS_GROUP)] == [
        "staging-worker"]
    assert deployment_holder(redis.get(DEPLOYMENT_KEY))["name"] == "staging"
