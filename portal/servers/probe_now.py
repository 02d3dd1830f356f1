""""Test now" on the server form: one probe through the exporter's /probe, before saving.

The portal never connects to the server itself: the exporter is the one place that
probes, from where the probes normally run, so the answer is the one the schedule would
give, under the same probe target policy (a denied target is a 400 naming it). Each user
has TESTS_PER_MINUTE of them: a probe is a connection made on the user's behalf from
inside the bank's network, and a loop of them is a port scan.
"""

from __future__ import annotations

import json
import logging
import time

import redis
import requests
from flask import current_app

from portal.auth.guard import current_user
from portal.errors import APIError
from portal.redis_client import get_redis
from portal.servers.schemas import ServerSpec
from portal.servers.secrets import sealed_param
from wire import PROBE_SETTINGS, SECRET_SETTINGS


def _param(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


log = logging.getLogger(__name__)

TESTS_PER_MINUTE = 20


def _count_test() -> None:
    """429 beyond TESTS_PER_MINUTE for the signed-in user in this clock minute."""
    minute = int(time.time() // 60)
    key = f"servers:test-now:{current_user().id}:{minute}"
    try:
        pipe = get_redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count = pipe.execute()[0]
    except redis.RedisError as exc:
        raise APIError(503, "test now is unavailable: Redis, which counts tests, does not "
                            "answer; try again shortly") from exc
    if count > TESTS_PER_MINUTE:
        retry_after = max(int((minute + 1) * 60 - time.time()), 1)
        raise APIError(429, f"at most {TESTS_PER_MINUTE} tests a minute; try again shortly",
                       {"retry_after_s": retry_after}, headers={"Retry-After": str(retry_after)})


def probe_once(spec: ServerSpec) -> dict:
    if spec.kind == "heartbeat":
        raise APIError(400, "a heartbeat has nothing to test: its job pings the portal",
                       {"kind": "a heartbeat is not probed; ping its URL to test it"})
    _count_test()
    config = current_app.config["SERVERMON"]
    params = {"target": spec.target, "module": spec.kind, "format": "json"}
    params.update({name: _param(getattr(spec, name)) for name in PROBE_SETTINGS
                   if getattr(spec, name) is not None and name not in SECRET_SETTINGS})
    for name in SECRET_SETTINGS:  # sealed: no plaintext in the URL, nor in any log of it
        value = sealed_param(name, getattr(spec, name), spec.target)
        if value is not None:
            params[name] = value
    try:
        response = requests.get(f"{config.exporter_url}/probe", params=params,
                                headers={"Authorization": f"Bearer {config.sd_token}"},
                                timeout=spec.timeout_s + 5)
    except requests.RequestException as exc:
        log.warning("the exporter at %s is unreachable: %s", config.exporter_url, exc)
        raise APIError(503, "the exporter is unreachable; the probe could not run") from exc
    body = response.json() if response.headers.get("Content-Type", "").startswith(
        "application/json") else {}
    if response.status_code != 200:
        error = str(body.get("error", response.status_code))
        field = body.get("field")
        if response.status_code == 400 and field in ("target", "dns_resolver"):
            raise APIError(400, error, {field: error.removeprefix(f"{field}: ")})
        raise APIError(502 if response.status_code >= 500 else 400, f"exporter: {error}")
    return body
